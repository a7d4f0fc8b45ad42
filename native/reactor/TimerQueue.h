// TimerQueue: one-shot and repeating timers of one EventLoop, driven by a timerfd.
//
// Owns the timerfd, its Channel and every pending timer. addTimer() and cancel() may be called
// from any thread (they hop to the loop thread); callbacks run in the loop thread. Timers due at
// the same instant fire in the order they were added.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "reactor/Callbacks.h"
#include "reactor/Channel.h"

namespace lars::reactor {

class EventLoop;

class TimerQueue {
 public:
  explicit TimerQueue(EventLoop* loop);
  ~TimerQueue();  // loop thread (or the loop is not running)
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Any thread. interval > 0 repeats the timer every interval after `when`.
  TimerId addTimer(TimerCallback cb, TimePoint when, Duration interval);
  // Any thread. Cancelling a timer that already fired (or an unknown id) does nothing;
  // a repeating timer may cancel itself from its own callback.
  void cancel(TimerId id);

 private:
  struct Timer {
    TimerCallback callback;
    Duration interval;
  };
  using Key = std::pair<TimePoint, TimerId>;  // the id breaks ties in insertion order

  void addTimerInLoop(TimerId id, TimePoint when, Timer timer);
  void cancelInLoop(TimerId id);
  void handleRead();
  void armTimerfd();

  EventLoop* const loop_;
  const int timerfd_;
  Channel channel_;
  std::atomic<TimerId> nextId_{1};
  std::map<Key, Timer> timers_;
  std::unordered_map<TimerId, TimePoint> active_;  // id -> due time, for cancel
  bool callingExpired_ = false;
  std::unordered_set<TimerId> cancelledWhileCalling_;
};

}  // namespace lars::reactor
