#include "world.hpp"

#include "../qtc-chaingen/chain_writer.hpp"
#include "lane_threads.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>

namespace qtc::sim {

using namespace std::chrono_literals;

namespace {

std::vector<std::unique_ptr<lane>> make_lanes(std::size_t count, const std::string& log_level) {
  std::vector<std::unique_ptr<lane>> lanes;
  for (std::size_t k = 0; k < std::max<std::size_t>(count, 1); ++k)
    lanes.push_back(std::make_unique<lane>(k, log_level));
  return lanes;
}

/// The chain spec every node is given: the scenario's, with its bootstrap list naming the first
/// `bootstrap.bootstrap_nodes` serving nodes when the scenario says so (the spec file's list
/// names addresses no simulated node has).
std::shared_ptr<const chain_spec> nodes_spec(const scenario& s, const cast& c) {
  auto spec = s.spec;
  if (s.bootstrap_nodes) {
    spec.bootstrap_nodes.clear();
    for (std::size_t i = 0; i < *s.bootstrap_nodes; ++i) {
      network_address_entry entry;
      entry.host = c.ips[i];
      entry.port = spec.default_port;
      spec.bootstrap_nodes.push_back(entry);
    }
  }
  return std::make_shared<const chain_spec>(std::move(spec));
}

} // namespace

lane::lane(std::size_t index, const std::string& log_level)
    : cfg(log_level), sys(cfg), self(sys, true),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  // Virtual time starts well after the clock's epoch, so that "now - period" stays positive.
  sched.clock().current_time += std::chrono::hours{1};
  port->lane = index;
  cfg.set_metrics(sys.spawn(traffic_recorder, traffic));
}

lane::~lane() {
  caf::anon_send_exit(net, caf::exit_reason::user_shutdown);
  if (auto m = cfg.metrics())
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  run();
  sys.await_actors_before_shutdown(false);
}

std::size_t lane::run() {
  auto n = sched.run();
  jobs += n;
  return n;
}

void lane::advance_to(caf::actor_clock::time_point target) {
  run();
  if (now() >= target)
    return;
  // A marker due at `target`: the clock's timeouts fire in time order, so when the marker's
  // turn comes everything due before it has run, and time stops exactly there.
  auto reached = std::make_shared<bool>(false);
  auto marker = sys.spawn([reached](caf::event_based_actor* a) -> caf::behavior {
    return {[reached, a](tick_atom) {
      *reached = true;
      a->quit();
    }};
  });
  caf::delayed_anon_send(marker, target - now(), tick_atom::value);
  while (!*reached && sched.clock().trigger_timeout())
    run();
}

world::world(const scenario& s, std::filesystem::path dir, const std::string& log_level)
    : scenario_(s), dir_(std::move(dir)), lanes_(make_lanes(s.lanes, log_level)),
      home_(*lanes_.front()), rng_(s.seed ^ 0x51d3c0ffeeULL) {
  epoch_ = home_.now();
  unix_ = unix_clock{home_.sched.clock()};
  cast_ = make_cast(s);
  chain_ = nodes_spec(s, cast_);
  nodes_.resize(cast_.ips.size());
  auto lane_of_ip = std::make_shared<std::map<std::string, std::size_t>>();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].role = cast_.roles[i];
    nodes_[i].ip = cast_.ips[i];
    (*lane_of_ip)[nodes_[i].ip] = i % lanes_.size();
  }
  auto model = wire_model{s.latency_min, s.latency_max, s.bandwidth_min, s.bandwidth_max, s.seed};
  for (auto& l : lanes_) {
    // Each lane draws its wires' latencies and bandwidths from a seed of its own (lane 0: the
    // scenario's).
    auto m = model;
    m.seed += l->port->lane;
    l->port->lane_of = lane_of_ip;
    l->net = l->sys.spawn(modelled_network, m,
                          lanes_.size() > 1 ? l->port : std::shared_ptr<lane_port>{});
  }
  if (lanes_.size() > 1) {
    std::vector<lane*> all;
    for (auto& l : lanes_)
      all.push_back(l.get());
    threads_ = std::make_unique<lane_threads>(std::move(all));
  }
  if (!s.attacks.empty())
    start_attacks();
}

world::~world() {
  for (auto& n : nodes_)
    if (n.running)
      caf::anon_send_exit(n.root, caf::exit_reason::user_shutdown);
  for (const auto& [id, a] : *attack_sessions_)
    caf::anon_send_exit(a.session, caf::exit_reason::user_shutdown);
  if (attack_observer_)
    caf::anon_send_exit(attack_observer_, caf::exit_reason::user_shutdown);
  run();
  threads_.reset();
}

std::size_t world::run() {
  auto before = jobs();
  for_each_lane([](lane& l) { l.run(); });
  return jobs() - before;
}

void world::for_each_lane(const std::function<void(lane&)>& task) {
  if (threads_)
    threads_->run_all(task);
  else
    task(home_);
}

std::uint64_t world::jobs() const {
  std::uint64_t n = 0;
  for (const auto& l : lanes_)
    n += l->jobs;
  return n;
}

traffic_totals world::traffic() const {
  traffic_totals sum;
  for (const auto& l : lanes_)
    for (const auto& [command, t] : *l->traffic) {
      sum[command].messages += t.messages;
      sum[command].bytes += t.bytes;
    }
  return sum;
}

lane& world::lane_of(const caf::actor_system& sys) {
  for (auto& l : lanes_)
    if (&l->sys == &sys)
      return *l;
  return home_;
}

milliseconds world::now() const {
  return std::chrono::duration_cast<milliseconds>(home_.now() - epoch_);
}

void world::note(std::string what) {
  log_.emplace_back(now(), std::move(what));
}

std::string world::prepare() {
  if (scenario_.serving + scenario_.attackers == 0)
    return {};
  auto chain_dir = dir_ / "initial-chain";
  chain_request request;
  request.blocks = scenario_.chain_blocks;
  request.txs = scenario_.txs_per_block;
  request.seed = scenario_.seed;
  request.data_dir = chain_dir;
  auto outcome = write_chain(scenario_.spec, request);
  if (!outcome.error.empty())
    return outcome.error;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].role == node_role::fresh)
      continue;
    std::error_code ec;
    std::filesystem::copy(chain_dir, dir_ / nodes_[i].ip, std::filesystem::copy_options::recursive,
                          ec);
    if (ec)
      return (dir_ / nodes_[i].ip).string() + ": " + ec.message();
  }
  return {};
}

void world::advance_to(milliseconds t) {
  run();
  auto target = epoch_ + t;
  if (lanes_.size() == 1)
    home_.advance_to(target);
  else
    advance_lanes(target);
}

void world::advance_lanes(caf::actor_clock::time_point target) {
  std::vector<lane_door> doors;
  for (auto& l : lanes_)
    doors.push_back({&l->sys, l->net, l->port});
  // What one lane sends another arrives at least the smallest latency later: a round that long
  // never needs anything another lane sends during it.
  auto quantum = std::chrono::duration_cast<caf::timespan>(scenario_.latency_min);
  while (home_.now() < target) {
    exchange_crossings(doors);
    auto until = std::min(target, home_.now() + quantum);
    threads_->run_all([until](lane& l) { l.advance_to(until); });
  }
  exchange_crossings(doors);
}

void world::apply(const event& e) {
  switch (e.kind) {
  case event_kind::start:
    start(e.node);
    break;
  case event_kind::crash:
    stop(e.node, false);
    break;
  case event_kind::leave:
    stop(e.node, true);
    break;
  case event_kind::mine:
    mine(e.node);
    break;
  case event_kind::partition:
  case event_kind::heal:
    partition(e.kind == event_kind::partition);
    break;
  case event_kind::silence:
    silence();
    break;
  case event_kind::attack:
    attack(e.node);
    break;
  }
}

} // namespace qtc::sim
