// EventLoopThreadPool: the I/O loops a server hands its connections to, round-robin.
//
// Owns the EventLoopThreads (and so their loops); doesn't own the base loop. With threadNum 0
// every connection stays on the base loop. setThreadNum before start(); start(), getNextLoop()
// and getAllLoops() are base-loop-thread only. Destroy it in the base loop thread (or when the
// base loop is not running): the destructor quits and joins every I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lars::reactor {

class EventLoop;
class EventLoopThread;

class EventLoopThreadPool {
 public:
  using ThreadInitCallback = std::function<void(EventLoop*)>;

  EventLoopThreadPool(EventLoop* baseLoop, std::string name);
  ~EventLoopThreadPool();
  EventLoopThreadPool(const EventLoopThreadPool&) = delete;
  EventLoopThreadPool& operator=(const EventLoopThreadPool&) = delete;

  void setThreadNum(int n) { threadNum_ = n; }
  int threadNum() const { return threadNum_; }

  void start(const ThreadInitCallback& init = {});
  bool started() const { return started_; }
  EventLoop* getNextLoop();
  std::vector<EventLoop*> getAllLoops();

 private:
  EventLoop* const baseLoop_;
  const std::string name_;
  int threadNum_ = 0;
  bool started_ = false;
  size_t next_ = 0;
  std::vector<std::unique_ptr<EventLoopThread>> threads_;
  std::vector<EventLoop*> loops_;
};

}  // namespace lars::reactor
