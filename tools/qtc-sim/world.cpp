#include "world.hpp"

#include "../qtc-chaingen/chain_writer.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>

namespace qtc::sim {

using namespace std::chrono_literals;

world::world(const scenario& s, std::filesystem::path dir, const std::string& log_level)
    : scenario_(s), dir_(std::move(dir)), chain_(std::make_shared<const chain_spec>(s.spec)),
      cfg_(log_level), sys_(cfg_), self_(sys_, true),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      rng_(s.seed ^ 0x51d3c0ffeeULL) {
  // Virtual time starts well after the clock's epoch, so that "now - period" stays positive.
  sched_.clock().current_time += std::chrono::hours{1};
  epoch_ = sched_.clock().current_time;
  unix_ = unix_clock{sched_.clock()};
  cfg_.set_metrics(sys_.spawn(traffic_recorder, traffic_));
  net_ =
      sys_.spawn(modelled_network, wire_model{s.latency_min, s.latency_max, s.bandwidth, s.seed});
  cast_ = make_cast(s);
  nodes_.resize(cast_.ips.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].role = cast_.roles[i];
    nodes_[i].ip = cast_.ips[i];
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
  caf::anon_send_exit(net_, caf::exit_reason::user_shutdown);
  if (auto m = cfg_.metrics())
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  run();
  sys_.await_actors_before_shutdown(false);
}

std::size_t world::run() {
  auto n = sched_.run();
  jobs_ += n;
  return n;
}

milliseconds world::now() const {
  return std::chrono::duration_cast<milliseconds>(sched_.clock().current_time - epoch_);
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
  if (sched_.clock().current_time >= target)
    return;
  // A marker due at `target`: the clock's timeouts fire in time order, so when the marker's
  // turn comes everything due before it has run, and time stops exactly there.
  auto reached = std::make_shared<bool>(false);
  auto marker = sys_.spawn([reached](caf::event_based_actor* a) -> caf::behavior {
    return {[reached, a](tick_atom) {
      *reached = true;
      a->quit();
    }};
  });
  caf::delayed_anon_send(marker, target - sched_.clock().current_time, tick_atom::value);
  while (!*reached && sched_.clock().trigger_timeout())
    run();
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
