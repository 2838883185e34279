// The node's components by interface: the name each runs under in the supervision tree, declared
// once. The node's tree (actors/node) names its children with these, and a component finds a
// sibling by the sibling's interface (actors/support/sibling.hpp), never by a string of its own.
#pragma once

#include "messages/interfaces.hpp"

namespace qtc {

/// `component<Handle>::name`: the child name of the component that implements Handle.
template <class Handle>
struct component;

template <>
struct component<storage_actor> {
  static constexpr const char* name = "storage";
};

template <>
struct component<metrics_actor> {
  static constexpr const char* name = "metrics";
};

template <>
struct component<discovery_actor> {
  static constexpr const char* name = "discovery";
};

template <>
struct component<security_actor> {
  static constexpr const char* name = "security";
};

template <>
struct component<sync_actor> {
  static constexpr const char* name = "sync";
};

template <>
struct component<peer_manager_actor> {
  static constexpr const char* name = "peers";
};

template <>
struct component<nat_actor> {
  static constexpr const char* name = "nat";
};

template <>
struct component<health_actor> {
  static constexpr const char* name = "health";
};

template <>
struct component<inspector_actor> {
  static constexpr const char* name = "inspector";
};

template <>
struct component<rpc_actor> {
  static constexpr const char* name = "rpc";
};

} // namespace qtc
