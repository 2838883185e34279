// Process metrics in the Prometheus conventions (process_cpu_seconds_total, resident memory, ...),
// read from /proc at scrape time. prometheus-cpp 1.0 has no process collector of its own.
#pragma once

#include <prometheus/collectable.h>

#include <vector>

namespace qtc {

class process_collector : public prometheus::Collectable {
public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

} // namespace qtc
