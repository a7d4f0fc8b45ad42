#include "reactor/TimerQueue.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "reactor/EventLoop.h"

namespace lars::reactor {

namespace {
int createTimerfd() {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  return fd;
}
}  // namespace

TimerQueue::TimerQueue(EventLoop* loop)
    : loop_(loop), timerfd_(createTimerfd()), channel_(loop, timerfd_) {
  channel_.setReadCallback([this] { handleRead(); });
  channel_.enableReading();
}

TimerQueue::~TimerQueue() {
  channel_.disableAll();
  channel_.remove();
  ::close(timerfd_);
}

TimerId TimerQueue::addTimer(TimerCallback cb, TimePoint when, Duration interval) {
  const TimerId id = nextId_.fetch_add(1, std::memory_order_relaxed);
  loop_->runInLoop([this, id, when, timer = Timer{std::move(cb), interval}]() mutable {
    addTimerInLoop(id, when, std::move(timer));
  });
  return id;
}

void TimerQueue::cancel(TimerId id) {
  loop_->runInLoop([this, id] { cancelInLoop(id); });
}

void TimerQueue::addTimerInLoop(TimerId id, TimePoint when, Timer timer) {
  const bool earliestChanged = timers_.empty() || Key{when, id} < timers_.begin()->first;
  timers_.emplace(Key{when, id}, std::move(timer));
  active_.emplace(id, when);
  if (earliestChanged) armTimerfd();
}

void TimerQueue::cancelInLoop(TimerId id) {
  auto it = active_.find(id);
  if (it != active_.end()) {
    timers_.erase(Key{it->second, id});
    active_.erase(it);
  } else if (callingExpired_) {
    // Firing right now (a repeating timer cancelling itself): don't re-arm it afterwards.
    cancelledWhileCalling_.insert(id);
  }
}

void TimerQueue::handleRead() {
  uint64_t expirations;
  while (::read(timerfd_, &expirations, sizeof expirations) > 0) {
  }
  const TimePoint now = Clock::now();

  std::vector<std::pair<Key, Timer>> expired;
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    active_.erase(node.key().second);
    expired.emplace_back(node.key(), std::move(node.mapped()));
  }

  callingExpired_ = true;
  cancelledWhileCalling_.clear();
  for (auto& [key, timer] : expired) {
    // An earlier callback of this batch may have cancelled a later timer.
    if (!cancelledWhileCalling_.count(key.second)) timer.callback();
  }
  callingExpired_ = false;

  for (auto& [key, timer] : expired) {
    const TimerId id = key.second;
    if (timer.interval > Duration::zero() && !cancelledWhileCalling_.count(id)) {
      // Next due time from now, not from the old due time: a stalled loop doesn't fire a burst.
      const TimePoint next = now + timer.interval;
      timers_.emplace(Key{next, id}, std::move(timer));
      active_.emplace(id, next);
    }
  }
  armTimerfd();
}

void TimerQueue::armTimerfd() {
  itimerspec spec;
  std::memset(&spec, 0, sizeof spec);
  if (!timers_.empty()) {
    // steady_clock is CLOCK_MONOTONIC, so its epoch is the timerfd's absolute time base.
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        timers_.begin()->first.first.time_since_epoch())
                        .count();
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  }
  ::timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

}  // namespace lars::reactor
