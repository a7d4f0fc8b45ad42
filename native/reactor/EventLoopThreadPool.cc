#include "reactor/EventLoopThreadPool.h"

#include <cassert>

#include "reactor/EventLoop.h"
#include "reactor/EventLoopThread.h"

namespace lars::reactor {

EventLoopThreadPool::EventLoopThreadPool(EventLoop* baseLoop, std::string name)
    : baseLoop_(baseLoop), name_(std::move(name)) {}

// Joining happens in ~EventLoopThread, last thread first.
EventLoopThreadPool::~EventLoopThreadPool() {
  while (!threads_.empty()) threads_.pop_back();
}

void EventLoopThreadPool::start(const ThreadInitCallback& init) {
  assert(!started_);
  baseLoop_->assertInLoopThread();
  started_ = true;
  for (int i = 0; i < threadNum_; ++i) {
    auto thread = std::make_unique<EventLoopThread>(init, name_ + "-" + std::to_string(i));
    loops_.push_back(thread->startLoop());
    threads_.push_back(std::move(thread));
  }
  if (threadNum_ == 0 && init) init(baseLoop_);
}

EventLoop* EventLoopThreadPool::getNextLoop() {
  baseLoop_->assertInLoopThread();
  if (loops_.empty()) return baseLoop_;
  EventLoop* loop = loops_[next_];
  next_ = (next_ + 1) % loops_.size();
  return loop;
}

std::vector<EventLoop*> EventLoopThreadPool::getAllLoops() {
  baseLoop_->assertInLoopThread();
  if (loops_.empty()) return {baseLoop_};
  return loops_;
}

}  // namespace lars::reactor
