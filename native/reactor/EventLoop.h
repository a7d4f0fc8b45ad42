// EventLoop: one loop per thread (the reactor). It polls file descriptors with EPollPoller,
// dispatches their events to Channels, runs functors queued by other threads, and fires timers.
//
// Owns its poller, its TimerQueue and the eventfd (with its Channel) used to wake it up; doesn't
// own the other Channels registered with it. Construct it in the thread that will run loop().
// Thread rules: methods ending in InLoop are loop-thread only; quit, runInLoop, queueInLoop,
// runInLoopAndWait, wakeup, the timer methods and isInLoopThread may be called from any thread.
// Destroy the loop in its own thread after loop() returned (EventLoopThread does this).
#pragma once

#include <any>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "reactor/Callbacks.h"

namespace lars::reactor {

class Channel;
class EPollPoller;
class TimerQueue;

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until quit(). Loop thread only. Functors queued before quit() still run before it returns.
  void loop();
  // Any thread. Makes loop() return after the current iteration (also when called before loop()).
  void quit();

  bool isInLoopThread() const { return threadId_ == std::this_thread::get_id(); }
  void assertInLoopThread() const;
  // The loop created in the calling thread, or nullptr.
  static EventLoop* ofCurrentThread();

  // Any thread. Runs cb now when called in the loop thread, else queues it.
  void runInLoop(Functor cb);
  // Any thread. Queues cb to run in the loop thread after the current events; functors queued
  // by one thread run in the order they were queued.
  void queueInLoop(Functor cb);
  // Any thread. Runs cb in the loop thread and waits for it to finish; rethrows what cb threw.
  // Throws LoopQuitError instead of waiting when the loop has finished (or finishes) without
  // running cb. Calling it from another loop's thread can deadlock if that loop is waited on
  // in turn.
  void runInLoopAndWait(Functor cb);
  size_t queueSize() const;

  // Timers, any thread; callbacks run in the loop thread.
  TimerId runAt(TimePoint when, TimerCallback cb);
  TimerId runAfter(Duration delay, TimerCallback cb);
  TimerId runEvery(Duration interval, TimerCallback cb);
  void cancel(TimerId id);

  // Any thread: interrupts epoll_wait.
  void wakeup();

  // Any thread. For this long after the last event, polls without sleeping (epoll_wait with a 0
  // timeout) before it blocks again: a request that arrives within it is read without a
  // scheduler wake-up, which is most of a round trip for a client with one request outstanding.
  // Costs up to that much CPU after each burst of activity, none while idle. Zero (the default):
  // always block.
  void setBusyPoll(Duration spin);

  // Channel registration, loop thread only (Channel calls these).
  void updateChannelInLoop(Channel* channel);
  void removeChannelInLoop(Channel* channel);

  // What the loop's owner keeps per loop (muduo's EventLoop context): set in the thread-init
  // callback, then used only in the loop thread. Destroyed with the loop, in its thread.
  std::any& contextInLoop() { return context_; }

  // Loop iterations so far (a liveness signal for tests and metrics). Any thread.
  uint64_t iteration() const { return iteration_.load(std::memory_order_relaxed); }

 private:
  void handleWakeup();
  void doPendingFunctors();
  // Refuses further functors and drops the queued ones unrun (their captures are released, so
  // a runInLoopAndWait waiting on one is told). Loop thread, once loop() is over.
  void closeQueue();

  const std::thread::id threadId_;
  std::atomic<bool> looping_{false};
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> iteration_{0};
  std::atomic<Duration::rep> busyPollTicks_{0};
  TimePoint lastActivity_{};  // loop thread; read only while busy-polling
  bool eventHandling_ = false;
  std::atomic<bool> callingPendingFunctors_{false};
  std::unique_ptr<EPollPoller> poller_;
  const int wakeupFd_;
  std::unique_ptr<Channel> wakeupChannel_;
  std::unique_ptr<TimerQueue> timerQueue_;
  std::vector<Channel*> activeChannels_;

  std::any context_;

  mutable std::mutex mutex_;
  std::vector<Functor> pendingFunctors_;  // guarded by mutex_
  bool queueClosed_ = false;              // guarded by mutex_
};

// runInLoopAndWait on a loop that quit before it ran the functor.
class LoopQuitError : public std::runtime_error {
 public:
  LoopQuitError() : std::runtime_error("lars reactor: the event loop quit before running the call") {}
};

}  // namespace lars::reactor
