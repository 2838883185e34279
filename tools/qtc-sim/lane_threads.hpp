// The threads of a parallel simulation: lanes 1.. of a world each run on a thread of their own,
// side by side with lane 0 on the caller's thread, one round at a time. Between rounds every
// lane is still, so the world may touch any of them (exchange what crosses, read, start nodes).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qtc::sim {

struct lane;

class lane_threads {
public:
  /// `lanes`: every lane of the world; a thread is started for each but the first.
  explicit lane_threads(std::vector<lane*> lanes);
  ~lane_threads();

  lane_threads(const lane_threads&) = delete;
  lane_threads& operator=(const lane_threads&) = delete;

  /// Runs `task` on every lane at once, each on its lane's thread, and returns when all have
  /// (rethrowing what a lane threw). `task` must touch nothing but its lane.
  void run_all(const std::function<void(lane&)>& task);

private:
  void work(std::size_t k);

  std::vector<lane*> lanes_;
  std::mutex mutex_;
  std::condition_variable go_;
  std::condition_variable done_;
  std::uint64_t round_ = 0;
  std::size_t pending_ = 0;
  bool stop_ = false;
  const std::function<void(lane&)>* task_ = nullptr;
  std::exception_ptr failure_;
  std::vector<std::thread> threads_;
};

} // namespace qtc::sim
