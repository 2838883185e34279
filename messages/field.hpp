// A field-name annotation for `inspect` overloads.
//
// CAF 0.17's inspectors know no field names: `f(meta::type_name("x"), x.a, x.b)`. This annotation
// puts the name before each value: `f(meta::type_name("x"), field("a"), x.a, ...)`. CAF's own
// serializers and `deep_to_string` skip annotations they do not know, so the binary format is
// unchanged, while the node's JSON inspector (messages/json.hpp) uses the names as object keys.
#pragma once

#include <caf/meta/annotation.hpp>

namespace qtc {

struct field_t : caf::meta::annotation {
  constexpr explicit field_t(const char* name) : name(name) {}
  const char* name;
};

/// Names the value that follows in an `inspect` call.
constexpr field_t field(const char* name) {
  return field_t{name};
}

} // namespace qtc
