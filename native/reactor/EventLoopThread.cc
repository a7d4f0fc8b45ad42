#include "reactor/EventLoopThread.h"

#include <pthread.h>

#include <cassert>
#include <optional>

#include "reactor/EventLoop.h"

namespace lars::reactor {

EventLoopThread::EventLoopThread(ThreadInitCallback init, std::string name)
    : init_(std::move(init)), name_(std::move(name)) {}

EventLoopThread::~EventLoopThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The loop object is alive until threadFunc clears loop_ under the lock.
    if (loop_) loop_->quit();
  }
  thread_.join();
}

EventLoop* EventLoopThread::startLoop() {
  assert(!thread_.joinable());
  thread_ = std::thread([this] { threadFunc(); });
  std::unique_lock<std::mutex> lock(mutex_);
  cond_.wait(lock, [this] { return loop_ != nullptr || exited_; });
  if (startError_) {
    lock.unlock();
    thread_.join();
    std::rethrow_exception(startError_);
  }
  return loop_;
}

void EventLoopThread::threadFunc() {
  ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
  // An exception escaping a thread calls std::terminate: hand a failed start to startLoop().
  std::optional<EventLoop> loop;
  try {
    loop.emplace();
    if (init_) init_(&*loop);
  } catch (...) {
    loop.reset();
    std::lock_guard<std::mutex> lock(mutex_);
    startError_ = std::current_exception();
    exited_ = true;
    cond_.notify_all();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    loop_ = &*loop;
  }
  cond_.notify_all();
  loop->loop();
  std::lock_guard<std::mutex> lock(mutex_);
  loop_ = nullptr;
  exited_ = true;
}

}  // namespace lars::reactor
