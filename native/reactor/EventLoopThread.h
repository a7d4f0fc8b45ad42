// EventLoopThread: a thread running one EventLoop.
//
// Owns the thread; the EventLoop lives on that thread's stack, from startLoop() until the
// destructor (or the loop's quit()) ends it. Create, start and destroy it from one thread that
// is not its own loop thread.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lars::reactor {

class EventLoop;

class EventLoopThread {
 public:
  using ThreadInitCallback = std::function<void(EventLoop*)>;

  // `init` runs in the new thread, before the loop starts. `name` is the thread name (<= 15 chars shown).
  explicit EventLoopThread(ThreadInitCallback init = {}, std::string name = "lars-loop");
  // Quits the loop (functors it already queued still run) and joins the thread.
  ~EventLoopThread();
  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  // Starts the thread and returns its loop once it exists. Call once. Throws what stopped the
  // loop from starting (std::system_error: no thread, or no descriptor for epoll, eventfd or
  // timerfd; or what `init` threw), the thread joined by then.
  EventLoop* startLoop();

 private:
  void threadFunc();

  ThreadInitCallback init_;
  const std::string name_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cond_;
  EventLoop* loop_ = nullptr;      // guarded by mutex_
  bool exited_ = false;            // guarded by mutex_
  std::exception_ptr startError_;  // guarded by mutex_
};

}  // namespace lars::reactor
