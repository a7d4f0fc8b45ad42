#include "reactor/EventLoop.h"

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

EventLoop::EventLoop()
    : threadId_(std::this_thread::get_id()),
      poller_(std::make_unique<EPollPoller>(this)),
      wakeupFd_(createEventfd()),
      wakeupChannel_(std::make_unique<Channel>(this, wakeupFd_)) {
  if (t_loopInThisThread) {
    std::fprintf(stderr, "lars reactor: another EventLoop already exists in this thread\n");
    std::abort();
  }
  t_loopInThisThread = this;
  timerQueue_ = std::make_unique<TimerQueue>(this);
  wakeupChannel_->setReadCallback([this] { handleWakeup(); });
  wakeupChannel_->enableReading();
}

EventLoop::~EventLoop() {
  assert(!looping_);
  assertInLoopThread();
  timerQueue_.reset();
  wakeupChannel_->disableAll();
  wakeupChannel_->remove();
  ::close(wakeupFd_);
  t_loopInThisThread = nullptr;
  // Functors still queued (posted after the final drain) are destroyed without running;
  // they only release what they captured.
}

EventLoop* EventLoop::ofCurrentThread() { return t_loopInThisThread; }

void EventLoop::assertInLoopThread() const {
  if (!isInLoopThread()) {
    std::fprintf(stderr, "lars reactor: EventLoop used outside its thread\n");
    std::abort();
  }
}

void EventLoop::loop() {
  assert(!looping_);
  assertInLoopThread();
  looping_ = true;
  while (!quit_.load(std::memory_order_acquire)) {
    activeChannels_.clear();
    poller_->poll(kPollTimeMs, &activeChannels_);
    iteration_.fetch_add(1, std::memory_order_relaxed);
    eventHandling_ = true;
    for (Channel* channel : activeChannels_) channel->handleEvent();
    eventHandling_ = false;
    doPendingFunctors();
  }
  // Run what was queued before quit() (e.g. connection tear-down posted by a server's
  // destructor); a few rounds, because those functors may queue their own follow-ups.
  for (int round = 0; round < 8 && queueSize() > 0; ++round) doPendingFunctors();
  looping_ = false;
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
    std::lock_guard<std::mutex> lock(mutex_);
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
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  queueInLoop([&cb, &done] {
    cb();
    done.set_value();
  });
  finished.wait();
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

bool EventLoop::hasChannelInLoop(Channel* channel) {
  assertInLoopThread();
  return poller_->hasChannel(channel);
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
