#include "reactor/EventLoop.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <system_error>

#include "reactor/Channel.h"
#include "reactor/EPollPoller.h"
#include "reactor/Log.h"
#include "reactor/TimerQueue.h"

namespace lars::reactor {

namespace {
thread_local EventLoop* t_loopInThisThread = nullptr;

// Long enough to cost nothing when idle; every wake-up source (fd, eventfd, timerfd) is in epoll.
constexpr int kPollTimeMs = 10000;

int createEventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}
}  // namespace

// Each descriptor it opens can fail (EMFILE): it throws std::system_error then, having closed
// what it had opened.
EventLoop::EventLoop()
    : threadId_(std::this_thread::get_id()),
      poller_(std::make_unique<EPollPoller>(this)),
      wakeupFd_(createEventfd()),
      wakeupChannel_(std::make_unique<Channel>(this, wakeupFd_)) {
  if (t_loopInThisThread) {
    logLine("error", "reactor", "another EventLoop already exists in this thread");
    std::abort();
  }
  try {
    timerQueue_ = std::make_unique<TimerQueue>(this);
  } catch (...) {
    ::close(wakeupFd_);
    throw;
  }
  t_loopInThisThread = this;
  wakeupChannel_->setReadCallback([this] { handleWakeup(); });
  wakeupChannel_->enableReading();
}

EventLoop::~EventLoop() {
  assert(!looping_);
  assertInLoopThread();
  closeQueue();
  context_.reset();
  timerQueue_.reset();
  wakeupChannel_->disableAll();
  wakeupChannel_->remove();
  ::close(wakeupFd_);
  t_loopInThisThread = nullptr;
}

EventLoop* EventLoop::ofCurrentThread() { return t_loopInThisThread; }

void EventLoop::assertInLoopThread() const {
  if (!isInLoopThread()) {
    logLine("error", "reactor", "EventLoop used outside its thread");
    std::abort();
  }
}

void EventLoop::loop() {
  assert(!looping_);
  assertInLoopThread();
  looping_ = true;
  while (!quit_.load(std::memory_order_acquire)) {
    activeChannels_.clear();
    const Duration spin(busyPollTicks_.load(std::memory_order_relaxed));
    if (spin.count() > 0) {
      const bool spinning = Clock::now() - lastActivity_ < spin;
      // A spinning loop gives way to any thread waiting for its core (another port's loop when
      // they share one), else spinning loops take turns by time slice and requests wait for them.
      if (spinning) sched_yield();
      poller_->poll(spinning ? 0 : kPollTimeMs, &activeChannels_);
      if (!activeChannels_.empty()) lastActivity_ = Clock::now();
    } else {
      poller_->poll(kPollTimeMs, &activeChannels_);
    }
    iteration_.fetch_add(1, std::memory_order_relaxed);
    eventHandling_ = true;
    for (Channel* channel : activeChannels_) channel->handleEvent();
    eventHandling_ = false;
    doPendingFunctors();
  }
  // Run what was queued before quit() (e.g. connection tear-down posted by a server's
  // destructor); a few rounds, because those functors may queue their own follow-ups.
  for (int round = 0; round < 8 && queueSize() > 0; ++round) doPendingFunctors();
  closeQueue();
  looping_ = false;
}

void EventLoop::closeQueue() {
  std::vector<Functor> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queueClosed_ = true;
    dropped.swap(pendingFunctors_);
  }
  // Destroyed here, outside the lock: a functor's captures may queue or wait in turn.
}

void EventLoop::quit() {
  quit_.store(true, std::memory_order_release);
  if (!isInLoopThread()) wakeup();
}

void EventLoop::runInLoop(Functor cb) {
  if (isInLoopThread()) {
    cb();
  } else {
    queueInLoop(std::move(cb));
  }
}

void EventLoop::queueInLoop(Functor cb) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (queueClosed_) {
      // Never runs: released now, outside the lock, like the ones closeQueue() dropped.
      lock.unlock();
      cb = nullptr;
      return;
    }
    pendingFunctors_.push_back(std::move(cb));
  }
  // In the loop thread outside doPendingFunctors, the functor runs at the end of this
  // iteration anyway; inside it, the swapped-out batch is running, so wake the next poll.
  if (!isInLoopThread() || callingPendingFunctors_.load(std::memory_order_relaxed)) wakeup();
}

void EventLoop::runInLoopAndWait(Functor cb) {
  if (isInLoopThread()) {
    cb();
    return;
  }
  // The promise belongs to the queued functor: if the loop drops the functor unrun, the promise
  // goes with it and the wait ends with broken_promise instead of lasting forever.
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> finished = promise->get_future();
  queueInLoop([&cb, done = std::move(promise)] {
    try {
      cb();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  });
  try {
    finished.get();
  } catch (const std::future_error& e) {
    if (e.code() != std::future_errc::broken_promise) throw;
    throw LoopQuitError();
  }
}

size_t EventLoop::queueSize() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pendingFunctors_.size();
}

TimerId EventLoop::runAt(TimePoint when, TimerCallback cb) {
  return timerQueue_->addTimer(std::move(cb), when, Duration::zero());
}

TimerId EventLoop::runAfter(Duration delay, TimerCallback cb) {
  return runAt(Clock::now() + delay, std::move(cb));
}

TimerId EventLoop::runEvery(Duration interval, TimerCallback cb) {
  return timerQueue_->addTimer(std::move(cb), Clock::now() + interval, interval);
}

void EventLoop::cancel(TimerId id) { timerQueue_->cancel(id); }

void EventLoop::setBusyPoll(Duration spin) {
  busyPollTicks_.store(spin.count() > 0 ? spin.count() : 0, std::memory_order_relaxed);
}

void EventLoop::wakeup() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = ::write(wakeupFd_, &one, sizeof one);
}

void EventLoop::handleWakeup() {
  uint64_t value;
  [[maybe_unused]] ssize_t n = ::read(wakeupFd_, &value, sizeof value);
}

void EventLoop::updateChannelInLoop(Channel* channel) {
  assert(channel->ownerLoop() == this);
  assertInLoopThread();
  poller_->updateChannel(channel);
}

void EventLoop::removeChannelInLoop(Channel* channel) {
  assert(channel->ownerLoop() == this);
  assertInLoopThread();
  poller_->removeChannel(channel);
}

void EventLoop::doPendingFunctors() {
  std::vector<Functor> functors;
  callingPendingFunctors_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    functors.swap(pendingFunctors_);
  }
  for (Functor& f : functors) f();
  callingPendingFunctors_.store(false, std::memory_order_relaxed);
}

}  // namespace lars::reactor
