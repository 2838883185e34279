// Shared by the benchmarks: best-of-N wall time and the aligned report line.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace qtc::bench {

/// Best wall time of `runs` runs of `f`, in seconds: the least disturbed by other processes.
inline double best_of(int runs, const std::function<void()>& f) {
  double best = 1e100;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

inline void report(const char* what, double value, const char* unit) {
  std::printf("%-62s %12.2f %s\n", what, value, unit);
}

} // namespace qtc::bench
