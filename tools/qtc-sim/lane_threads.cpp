#include "lane_threads.hpp"

#include "world.hpp"

namespace qtc::sim {

lane_threads::lane_threads(std::vector<lane*> lanes) : lanes_(std::move(lanes)) {
  for (std::size_t k = 1; k < lanes_.size(); ++k)
    threads_.emplace_back([this, k] { work(k); });
}

lane_threads::~lane_threads() {
  {
    std::lock_guard lock{mutex_};
    stop_ = true;
  }
  go_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void lane_threads::run_all(const std::function<void(lane&)>& task) {
  {
    std::lock_guard lock{mutex_};
    task_ = &task;
    pending_ = threads_.size();
    ++round_;
  }
  go_.notify_all();
  std::exception_ptr mine;
  try {
    task(*lanes_.front());
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock lock{mutex_};
  done_.wait(lock, [this] { return pending_ == 0; });
  task_ = nullptr;
  if (!mine && failure_)
    std::swap(mine, failure_);
  if (mine)
    std::rethrow_exception(mine);
}

void lane_threads::work(std::size_t k) {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(lane&)>* task = nullptr;
    {
      std::unique_lock lock{mutex_};
      go_.wait(lock, [&] { return stop_ || round_ != seen; });
      if (stop_)
        return;
      seen = round_;
      task = task_;
    }
    std::exception_ptr failed;
    try {
      (*task)(*lanes_[k]);
    } catch (...) {
      failed = std::current_exception();
    }
    {
      std::lock_guard lock{mutex_};
      if (failed && !failure_)
        failure_ = failed;
      --pending_;
    }
    done_.notify_one();
  }
}

} // namespace qtc::sim
