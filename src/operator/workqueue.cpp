#include "operator/workqueue.h"

#include <algorithm>

namespace arca::op {

void WorkQueue::Add(const std::string& key, Clock::duration delay) {
  const auto at = Clock::now() + delay;
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  auto& target = processing_.contains(key) ? again_ : due_;
  auto it = target.find(key);
  if (it == target.end()) {
    target.emplace(key, at);
  } else {
    it->second = std::min(it->second, at);
  }
  cv_.notify_all();
}

std::optional<std::string> WorkQueue::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    auto earliest = due_.end();
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (earliest == due_.end() || it->second < earliest->second) earliest = it;
    }
    if (earliest == due_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (earliest->second <= Clock::now()) {
      std::string key = earliest->first;
      due_.erase(earliest);
      processing_.insert(key);
      return key;
    }
    cv_.wait_until(lock, earliest->second);
  }
  return std::nullopt;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (auto it = again_.find(key); it != again_.end()) {
    auto d = due_.find(key);
    if (d == due_.end()) {
      due_.emplace(key, it->second);
    } else {
      d->second = std::min(d->second, it->second);
    }
    again_.erase(it);
    cv_.notify_all();
  }
}

void WorkQueue::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

std::size_t WorkQueue::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return due_.size() + processing_.size();
}

}  // namespace arca::op
