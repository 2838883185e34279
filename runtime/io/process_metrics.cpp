#include "runtime/io/process_metrics.hpp"

#include <prometheus/metric_family.h>

#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>

#include <dirent.h>
#include <unistd.h>

namespace qtc {

namespace {

prometheus::MetricFamily gauge(std::string name, std::string help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter)
    metric.counter.value = value;
  else
    metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

/// Fields of /proc/self/stat after the command name (which may contain spaces).
std::vector<std::string> proc_stat_fields() {
  std::ifstream in{"/proc/self/stat"};
  std::string all{std::istreambuf_iterator<char>{in}, {}};
  std::vector<std::string> fields;
  auto close = all.rfind(')');
  if (close == std::string::npos)
    return fields;
  std::istringstream rest{all.substr(close + 2)};
  for (std::string f; rest >> f;)
    fields.push_back(f);
  return fields; // fields[0] is field 3 (state) of proc(5)
}

double boot_time_seconds() {
  std::ifstream in{"/proc/stat"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0)
      return std::stod(line.substr(6));
  return 0;
}

double open_fds() {
  double n = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (auto* entry = readdir(dir))
      if (entry->d_name[0] != '.')
        ++n;
    closedir(dir);
  }
  return n - 1; // the directory stream's own descriptor
}

} // namespace

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  std::vector<prometheus::MetricFamily> result;
  auto fields = proc_stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (fields.size() > 21) {
    // proc(5): utime(14) stime(15) starttime(22) vsize(23) rss(24); fields[0] is field 3.
    double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    result.push_back(gauge("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.", cpu,
                           prometheus::MetricType::Counter));
    result.push_back(gauge("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           boot_time_seconds() + std::stod(fields[19]) / ticks));
    result.push_back(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                           std::stod(fields[20])));
    result.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                           std::stod(fields[21]) * page));
  }
  result.push_back(gauge("process_open_fds", "Number of open file descriptors.", open_fds()));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    result.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                           static_cast<double>(lim.rlim_cur)));
  return result;
}

} // namespace qtc
