// qtc-sim: a whole QuantumCoin network in one process. Reads a scenario (config/sim/*.toml),
// builds its nodes from the production actors on the in-memory network, runs it in virtual time
// under CAF's deterministic coordinator, and writes a JSON report. The same scenario and seed
// give the same report byte for byte.
//
//   qtc-sim --scenario=FILE [--seed=N] [--report=FILE.json] [--fresh=N] [--lanes=N]
//           [--dir=DIR] [--log-level=LEVEL] [--quiet] [--until-synced]
//
// --until-synced ends the run at the first sample after the last event at which every running
// node holds the initial chain (the scale benchmark's stopping point).
// Exit 0 when the run completed (what it found is in the report), 2 on bad arguments or a bad
// scenario (every problem named as file:line: key: what), 1 when the run could not be set up.
#include "plan.hpp"
#include "report.hpp"
#include "scenario.hpp"
#include "world.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <sys/resource.h>

using namespace qtc;
using namespace qtc::sim;

namespace {

struct options {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::optional<std::uint32_t> fresh;
  std::optional<std::uint32_t> lanes;
  std::string report;
  std::string dir;
  std::string log_level = "error";
  bool quiet = false;
  bool until_synced = false;
};

bool number(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoull(text);
  return true;
}

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& key) -> std::optional<std::string> {
      if (a.rfind(key, 0) == 0)
        return a.substr(key.size());
      return std::nullopt;
    };
    std::uint64_t n = 0;
    if (auto v = value("--scenario="))
      o.scenario = *v;
    else if (auto v = value("--seed="); v && number(*v, n))
      o.seed = n;
    else if (auto v = value("--fresh="); v && number(*v, n) && n <= 100'000)
      o.fresh = static_cast<std::uint32_t>(n);
    else if (auto v = value("--lanes="); v && number(*v, n) && n >= 1 && n <= max_lanes)
      o.lanes = static_cast<std::uint32_t>(n);
    else if (auto v = value("--report="))
      o.report = *v;
    else if (auto v = value("--dir="))
      o.dir = *v;
    else if (auto v = value("--log-level="))
      o.log_level = *v;
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--until-synced")
      o.until_synced = true;
    else {
      std::cerr << "qtc-sim: unknown or invalid argument: " << a << "\n";
      return std::nullopt;
    }
  }
  if (o.scenario.empty()) {
    std::cerr << "usage: qtc-sim --scenario=FILE [--seed=N] [--report=FILE.json] [--fresh=N] "
                 "[--lanes=N] [--dir=DIR] [--log-level=LEVEL] [--quiet] [--until-synced]\n";
    return std::nullopt;
  }
  return o;
}

/// A fresh working directory for the nodes' stores (tmpfs when there is one).
std::filesystem::path make_work_dir(const std::string& given) {
  if (!given.empty()) {
    std::filesystem::create_directories(given);
    return given;
  }
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string pattern = base + "/qtc-sim-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    return {};
  return pattern;
}

/// Raises the open-file limit to its hard limit: every node's store holds files open.
void raise_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

std::uint64_t peak_rss_kib() {
  std::ifstream in{"/proc/self/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

using wall_clock = std::chrono::steady_clock;

double seconds_since(wall_clock::time_point t) {
  return std::chrono::duration<double>(wall_clock::now() - t).count();
}

void progress(const world& w, wall_clock::time_point started) {
  auto wall = seconds_since(started);
  std::cerr << "qtc-sim: t=" << w.now().count() / 1000.0 << "s running=" << w.running()
            << " synced=" << w.synced() << " jobs=" << w.jobs() << " ("
            << static_cast<std::uint64_t>(static_cast<double>(w.jobs()) / std::max(wall, 1e-3))
            << "/s wall)\n";
}

/// Runs the plan, sampling the peer graph every sample_every, until the scenario's duration.
void run_plan(world& w, const options& o, wall_clock::time_point started) {
  const auto& s = w.spec();
  auto plan = make_plan(s);
  milliseconds next_sample{0};
  auto sample_until = [&](milliseconds t) {
    while (next_sample <= t && next_sample <= s.duration) {
      w.advance_to(next_sample);
      w.sample_graph();
      if (!o.quiet)
        progress(w, started);
      next_sample += s.sample_every;
    }
  };
  for (const auto& e : plan) {
    if (e.at > s.duration)
      break;
    sample_until(e.at);
    w.advance_to(e.at);
    w.apply(e);
  }
  if (o.until_synced)
    while (next_sample <= s.duration && w.synced() < w.running())
      sample_until(next_sample);
  else {
    sample_until(s.duration);
    w.advance_to(s.duration);
  }
  w.finish();
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o)
    return 2;
  auto loaded = load_scenario(o->scenario);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.value)
    return 2;
  auto s = *loaded.value;
  if (o->seed)
    s.seed = *o->seed;
  if (o->fresh)
    s.fresh = *o->fresh;
  if (o->lanes)
    s.lanes = *o->lanes;
  if (auto problem = lanes_problem(s); !problem.empty()) {
    std::cerr << "qtc-sim: --lanes=" << s.lanes << ": " << problem << "\n";
    return 2;
  }
  raise_file_limit();
  auto dir = make_work_dir(o->dir);
  if (dir.empty()) {
    std::cerr << "qtc-sim: cannot make a working directory\n";
    return 1;
  }
  auto started = wall_clock::now();
  int rc = 0;
  {
    world w{s, dir, o->log_level};
    if (auto err = w.prepare(); !err.empty()) {
      std::cerr << "qtc-sim: " << err << "\n";
      rc = 1;
    } else {
      run_plan(w, *o, started);
      auto report = make_report(w).dump(2) + "\n";
      if (o->report.empty())
        std::cout << report;
      else if (!(std::ofstream{o->report} << report)) {
        std::cerr << "qtc-sim: cannot write " << o->report << "\n";
        rc = 1;
      }
      auto rss = peak_rss_kib();
      std::cerr << "qtc-sim: " << w.nodes().size() << " nodes, " << w.now().count() / 1000.0
                << " virtual s in " << seconds_since(started) << " wall s, " << w.jobs()
                << " jobs, peak RSS " << rss / 1024 << " MiB ("
                << rss / std::max<std::size_t>(1, w.nodes().size()) << " KiB per node)\n";
    }
  }
  if (o->dir.empty())
    std::filesystem::remove_all(dir);
  return rc;
}
