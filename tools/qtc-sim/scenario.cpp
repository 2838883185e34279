#include "scenario.hpp"

#include "runtime/chain/toml_checker.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace qtc::sim {

namespace {

constexpr std::int64_t max_nodes = 100'000;
constexpr std::int64_t max_millis = 7LL * 24 * 3600 * 1000; // a week of virtual time
/// Sessions one attack may open: each is a real peer session with its own identity.
constexpr std::uint64_t max_attack_sessions = 1'000'000;

/// An optional integer key: its value when present and valid, `fallback` when absent.
std::optional<std::int64_t> optional_integer(checker& c, const toml::value& t, const std::string& n,
                                             const std::string& key, std::int64_t min,
                                             std::int64_t max, std::int64_t fallback) {
  return checker::has(t, key) ? c.integer(t, n, key, min, max)
                              : std::optional<std::int64_t>{fallback};
}

std::optional<double> optional_number(checker& c, const toml::value& t, const std::string& n,
                                      const std::string& key, double min, double max,
                                      double fallback) {
  return checker::has(t, key) ? c.number(t, n, key, min, max) : std::optional<double>{fallback};
}

std::optional<milliseconds> optional_millis(checker& c, const toml::value& t, const std::string& n,
                                            const std::string& key, std::int64_t fallback) {
  auto v = optional_integer(c, t, n, key, 0, max_millis, fallback);
  return v ? std::optional<milliseconds>{milliseconds{*v}} : std::nullopt;
}

/// The table `name` of the root if present (null if absent; reported if not a table).
const toml::value* optional_table(checker& c, const toml::value& root, const std::string& name) {
  return checker::has(root, name) ? c.table(root, name) : nullptr;
}

void read_head(checker& c, const toml::value& root, scenario& s) {
  const auto* t = c.table(root, "scenario");
  if (t == nullptr)
    return;
  const std::string n = "scenario";
  c.unknown_keys(*t, n, {"name", "seed", "lanes", "duration_ms", "sample_every_ms", "chain_spec"});
  take(s.name, c.string(*t, n, "name"));
  take(s.seed, optional_integer(c, *t, n, "seed", 0, INT64_MAX, 1));
  take(s.lanes, optional_integer(c, *t, n, "lanes", 1, max_lanes, 1));
  take(s.duration, optional_millis(c, *t, n, "duration_ms", 0));
  if (s.duration.count() == 0)
    c.fail(c.line_of(*t, "duration_ms"), n + ".duration_ms", "must be more than 0");
  take(s.sample_every, optional_millis(c, *t, n, "sample_every_ms", 5000));
  if (s.sample_every.count() == 0)
    c.fail(c.line_of(*t, "sample_every_ms"), n + ".sample_every_ms", "must be more than 0");
  if (auto file = c.string(*t, n, "chain_spec"))
    s.chain_spec_file = s.source.parent_path() / *file;
}

void read_nodes(checker& c, const toml::value& root, scenario& s) {
  const auto* t = c.table(root, "nodes");
  if (t == nullptr)
    return;
  const std::string n = "nodes";
  c.unknown_keys(*t, n,
                 {"serving", "fresh", "chain_blocks", "txs_per_block", "outbound_full_relay",
                  "outbound_block_relay", "max_connections", "join_within_ms"});
  take(s.serving, c.integer(*t, n, "serving", 1, max_nodes));
  take(s.fresh, optional_integer(c, *t, n, "fresh", 0, max_nodes, 0));
  take(s.chain_blocks, c.integer(*t, n, "chain_blocks", 0, 1'000'000));
  take(s.txs_per_block, optional_integer(c, *t, n, "txs_per_block", 0, 1000, 2));
  take(s.full_relay_slots, optional_integer(c, *t, n, "outbound_full_relay", 0, 64, 8));
  take(s.block_relay_slots, optional_integer(c, *t, n, "outbound_block_relay", 0, 16, 2));
  take(s.max_connections, optional_integer(c, *t, n, "max_connections", 1, 100'000, 125));
  take(s.join_within, optional_millis(c, *t, n, "join_within_ms", 0));
}

/// [links]: each wire's latency, and each direction's bandwidth (one for all, or a range).
void read_links(checker& c, const toml::value& root, scenario& s) {
  const auto* t = optional_table(c, root, "links");
  if (t == nullptr)
    return;
  const std::string n = "links";
  c.unknown_keys(*t, n,
                 {"latency_min_ms", "latency_max_ms", "bandwidth_kbit", "bandwidth_min_kbit",
                  "bandwidth_max_kbit"});
  take(s.latency_min, optional_millis(c, *t, n, "latency_min_ms", 0));
  take(s.latency_max, optional_millis(c, *t, n, "latency_max_ms", s.latency_min.count()));
  if (s.latency_max < s.latency_min)
    c.fail(c.line_of(*t, "latency_max_ms"), n + ".latency_max_ms",
           "must be at least latency_min_ms");
  constexpr std::int64_t max_kbit = 100'000'000;
  auto to_bytes = [](std::int64_t kbit) { return static_cast<std::uint64_t>(kbit) * 1000 / 8; };
  if (checker::has(*t, "bandwidth_min_kbit") || checker::has(*t, "bandwidth_max_kbit")) {
    if (checker::has(*t, "bandwidth_kbit"))
      c.fail(c.line_of(*t, "bandwidth_kbit"), n + ".bandwidth_kbit",
             "give it or bandwidth_min_kbit and bandwidth_max_kbit, not both");
    auto low = optional_integer(c, *t, n, "bandwidth_min_kbit", 1, max_kbit, 0);
    auto high = optional_integer(c, *t, n, "bandwidth_max_kbit", 1, max_kbit, 0);
    if (!low || !high || *low == 0 || *high == 0)
      c.fail(c.line_of(*t, checker::has(*t, "bandwidth_min_kbit") ? "bandwidth_min_kbit"
                                                                  : "bandwidth_max_kbit"),
             n + ".bandwidth_min_kbit",
             "a bandwidth range needs both bandwidth_min_kbit and "
             "bandwidth_max_kbit");
    else if (*high < *low)
      c.fail(c.line_of(*t, "bandwidth_max_kbit"), n + ".bandwidth_max_kbit",
             "must be at least bandwidth_min_kbit");
    else {
      s.bandwidth_min = to_bytes(*low);
      s.bandwidth_max = to_bytes(*high);
    }
    return;
  }
  if (auto kbit = optional_integer(c, *t, n, "bandwidth_kbit", 0, max_kbit, 0))
    s.bandwidth_min = s.bandwidth_max = to_bytes(*kbit);
}

void read_network(checker& c, const toml::value& root, scenario& s) {
  if (const auto* t = optional_table(c, root, "bootstrap")) {
    const std::string n = "bootstrap";
    c.unknown_keys(*t, n, {"dns_answer_size", "seeds_name", "bootstrap_nodes"});
    take(s.dns_answer_size, optional_integer(c, *t, n, "dns_answer_size", 0, 256, 8));
    if (checker::has(*t, "bootstrap_nodes"))
      if (auto count = c.integer(*t, n, "bootstrap_nodes", 0, max_nodes)) {
        // nodes.serving is at least 1 when it was read well (its own error says otherwise).
        if (s.serving > 0 && *count > s.serving)
          c.fail(c.line_of(*t, "bootstrap_nodes"), n + ".bootstrap_nodes",
                 "names serving nodes: at most nodes.serving (" + std::to_string(s.serving)
                     + "), got " + std::to_string(*count));
        else
          s.bootstrap_nodes = static_cast<std::uint32_t>(*count);
      }
    if (checker::has(*t, "seeds_name")) {
      auto who = c.string(*t, n, "seeds_name");
      if (who && *who != "serving" && *who != "all" && *who != "running")
        c.fail(c.line_of(*t, "seeds_name"), n + ".seeds_name",
               "must be \"serving\", \"all\" or \"running\", got \"" + *who + "\"");
      if (who && *who == "all")
        s.seeds_name = seeds_knowledge::all;
      else if (who && *who == "running")
        s.seeds_name = seeds_knowledge::running;
    }
  }
  read_links(c, root, s);
}

void read_attackers(checker& c, const toml::value& root, scenario& s) {
  const auto* t = optional_table(c, root, "attackers");
  if (t == nullptr)
    return;
  const std::string n = "attackers";
  c.unknown_keys(*t, n, {"count", "groups", "address_share", "silent_at_ms"});
  take(s.attackers, c.integer(*t, n, "count", 0, max_nodes));
  take(s.attacker_groups, optional_integer(c, *t, n, "groups", 1, 200, 1));
  take(s.attacker_address_share, optional_number(c, *t, n, "address_share", 0, 1, 0));
  if (checker::has(*t, "silent_at_ms"))
    if (auto at = optional_millis(c, *t, n, "silent_at_ms", 0))
      s.attackers_silent_at = *at;
}

/// Calls `read(table, name)` for each table of the array of tables `key` ([[key]]), if present;
/// anything else there is reported.
template <class Read>
void for_each_table(checker& c, const toml::value& root, const std::string& key, Read read) {
  if (!checker::has(root, key))
    return;
  const auto& v = root.as_table().at(key);
  if (!v.is_array()) {
    c.fail(v.location().line(), key,
           "expected an array of tables ([[" + key + "]]), got " + type_name(v));
    return;
  }
  const auto& items = v.as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto n = key + "[" + std::to_string(i) + "]";
    if (!items[i].is_table())
      c.fail(items[i].location().line(), n, "expected a table, got " + type_name(items[i]));
    else
      read(items[i], n);
  }
}

void read_mining(checker& c, const toml::value& root, scenario& s) {
  for_each_table(c, root, "mine", [&](const toml::value& t, const std::string& n) {
    c.unknown_keys(t, n, {"node", "at_ms", "every_ms", "count"});
    mining_plan p;
    take(p.node, c.integer(t, n, "node", 0, max_nodes - 1));
    take(p.at, optional_millis(c, t, n, "at_ms", 0));
    take(p.every, optional_millis(c, t, n, "every_ms", 0));
    take(p.count, c.integer(t, n, "count", 1, 100'000));
    if (p.node >= s.honest() && s.honest() > 0)
      c.fail(c.line_of(t, "node"), n + ".node",
             "must name an honest node (0 to " + std::to_string(s.honest() - 1) + ")");
    s.mining.push_back(p);
  });
}

void read_attacks(checker& c, const toml::value& root, scenario& s) {
  for_each_table(c, root, "attack", [&](const toml::value& t, const std::string& n) {
    c.unknown_keys(t, n, {"kind", "at_ms", "every_ms", "count", "targets"});
    attack_plan p;
    if (auto kind = c.string(t, n, "kind")) {
      std::optional<attack_kind> known;
      for (auto k :
           {attack_kind::addr_flood, attack_kind::invalid_headers, attack_kind::connection_flood})
        if (*kind == to_string(k))
          known = k;
      if (!known)
        c.fail(c.line_of(t, "kind"), n + ".kind",
               "must be addr-flood, invalid-headers or connection-flood, got \"" + *kind + "\"");
      take(p.kind, known);
    }
    take(p.at, optional_millis(c, t, n, "at_ms", 0));
    take(p.every, optional_millis(c, t, n, "every_ms", 1000));
    if (p.every.count() == 0)
      c.fail(c.line_of(t, "every_ms"), n + ".every_ms", "must be more than 0");
    take(p.count, c.integer(t, n, "count", 1, 100'000));
    take(p.targets, optional_integer(c, t, n, "targets", 1, max_nodes, 1));
    if (s.attackers == 0)
      c.fail(t.location().line(), n, "an attack needs [attackers] count of at least 1");
    // Bounded before anything is allocated: each pair holds a session, a connection flood one
    // per pair and step.
    auto pairs = std::uint64_t{s.attackers} * std::min(p.targets, s.honest());
    auto sessions = p.kind == attack_kind::connection_flood ? pairs * p.count : pairs;
    if (sessions > max_attack_sessions)
      c.fail(c.line_of(t, "targets"), n + ".targets",
             "the attack would open " + std::to_string(sessions) + " sessions (attackers x targets"
                 + (p.kind == attack_kind::connection_flood ? " x count" : "") + "), more than "
                 + std::to_string(max_attack_sessions));
    s.attacks.push_back(p);
  });
}

void read_partition(checker& c, const toml::value& root, scenario& s) {
  const auto* t = optional_table(c, root, "partition");
  if (t == nullptr)
    return;
  const std::string n = "partition";
  c.unknown_keys(*t, n, {"at_ms", "heal_ms", "share"});
  partition_plan p;
  take(p.at, c.integer(*t, n, "at_ms", 0, max_millis));
  take(p.heal, c.integer(*t, n, "heal_ms", 0, max_millis));
  take(p.share, optional_number(c, *t, n, "share", 0.01, 0.99, 0.5));
  if (p.heal <= p.at)
    c.fail(c.line_of(*t, "heal_ms"), n + ".heal_ms", "must be after at_ms");
  s.partition = p;
}

void read_churn(checker& c, const toml::value& root, scenario& s) {
  const auto* t = optional_table(c, root, "churn");
  if (t == nullptr)
    return;
  const std::string n = "churn";
  c.unknown_keys(*t, n, {"fraction", "leave_share", "joins", "from_ms", "to_ms", "down_ms"});
  churn_plan p;
  take(p.fraction, c.number(*t, n, "fraction", 0, 1));
  take(p.leave_share, optional_number(c, *t, n, "leave_share", 0, 1, 0));
  take(p.joins, optional_integer(c, *t, n, "joins", 0, max_nodes, 0));
  take(p.from, c.integer(*t, n, "from_ms", 0, max_millis));
  take(p.to, c.integer(*t, n, "to_ms", 0, max_millis));
  take(p.down_for, optional_millis(c, *t, n, "down_ms", 10'000));
  if (p.to <= p.from)
    c.fail(c.line_of(*t, "to_ms"), n + ".to_ms", "must be after from_ms");
  s.churn = p;
}

void check_lanes(checker& c, const toml::value& root, const scenario& s) {
  auto problem = lanes_problem(s);
  if (problem.empty())
    return;
  const auto* t = c.table(root, "scenario");
  c.fail(t != nullptr ? c.line_of(*t, "lanes") : 1, "scenario.lanes", problem);
}

void check_spec_file(scenario& s, std::vector<config_error>& errors) {
  if (s.chain_spec_file.empty())
    return;
  auto loaded = load_chain_spec(s.chain_spec_file);
  errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
  if (loaded.spec)
    s.spec = *loaded.spec;
}

} // namespace

const char* to_string(attack_kind k) {
  switch (k) {
  case attack_kind::addr_flood:
    return "addr-flood";
  case attack_kind::invalid_headers:
    return "invalid-headers";
  case attack_kind::connection_flood:
    return "connection-flood";
  }
  return "?";
}

std::string lanes_problem(const scenario& s) {
  if (s.lanes > 1 && s.latency_min.count() == 0)
    return "more than one lane needs links.latency_min_ms above 0 (a lane's round is that long)";
  return {};
}

scenario_result load_scenario(const std::filesystem::path& file) {
  scenario_result result;
  std::ifstream in{file, std::ios::binary};
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec)) {
    result.errors.push_back({file.string(), 0, "", "cannot read the scenario file"});
    return result;
  }
  toml::value root;
  try {
    root = toml::parse(in, file.string());
  } catch (const toml::syntax_error& e) {
    result.errors.push_back({file.string(), e.location().line(), "", condense(e.what())});
    return result;
  } catch (const std::exception& e) {
    result.errors.push_back({file.string(), 1, "", condense(e.what())});
    return result;
  }
  scenario s;
  s.source = file;
  checker c{file.string(), result.errors};
  try {
    c.unknown_keys(root, "",
                   {"scenario", "nodes", "bootstrap", "links", "attackers", "attack", "mine",
                    "partition", "churn"});
    read_head(c, root, s);
    read_nodes(c, root, s);
    read_network(c, root, s);
    read_attackers(c, root, s);
    read_attacks(c, root, s);
    read_mining(c, root, s);
    read_partition(c, root, s);
    read_churn(c, root, s);
    check_lanes(c, root, s);
  } catch (const std::exception& e) {
    result.errors.push_back({file.string(), 1, "", std::string{"internal error: "} + e.what()});
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const config_error& a, const config_error& b) { return a.line < b.line; });
  if (result.errors.empty())
    check_spec_file(s, result.errors);
  if (result.errors.empty())
    result.value = std::move(s);
  return result;
}

} // namespace qtc::sim
