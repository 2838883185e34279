// Shared by the benchmarks: best-of-N wall time, the aligned report line, the chain spec.
#pragma once

#include "runtime/chain/chain_spec.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>

namespace qtc::bench {

/// Best wall time of `runs` runs of `f`, in seconds: the least disturbed by other processes.
inline double best_of(int runs, const std::function<void()>& f) {
  double best = 1e100;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

inline void report(const char* what, double value, const char* unit) {
  std::printf("%-62s %12.2f %s\n", what, value, unit);
}

/// A ratio, with enough digits for small ones.
inline void report_ratio(const char* what, double value) {
  std::printf("%-62s %12.4g\n", what, value);
}

/// The chain spec in `file`, or nothing after printing every error in it.
inline std::optional<chain_spec> load_spec(const std::filesystem::path& file) {
  auto loaded = load_chain_spec(file);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  return std::move(loaded.spec);
}

} // namespace qtc::bench
