#include "reactor/Channel.h"

#include <sys/epoll.h>

#include <cassert>

#include "reactor/EventLoop.h"

namespace lars::reactor {

const uint32_t Channel::kNoneEvent = 0;
const uint32_t Channel::kReadEvent = EPOLLIN | EPOLLPRI;
const uint32_t Channel::kWriteEvent = EPOLLOUT;

Channel::Channel(EventLoop* loop, int fd) : loop_(loop), fd_(fd) {}

Channel::~Channel() {
  assert(!eventHandling_);
  assert(!addedToLoop_);
}

void Channel::tie(const std::shared_ptr<void>& owner) {
  tie_ = owner;
  tied_ = true;
}

void Channel::update() {
  addedToLoop_ = true;
  loop_->updateChannelInLoop(this);
}

void Channel::remove() {
  assert(isNoneEvent());
  addedToLoop_ = false;
  loop_->removeChannelInLoop(this);
}

void Channel::handleEvent() {
  if (tied_) {
    std::shared_ptr<void> guard = tie_.lock();
    if (guard) handleEventWithGuard();
  } else {
    handleEventWithGuard();
  }
}

void Channel::handleEventWithGuard() {
  eventHandling_ = true;
  // Hang-up with nothing left to read: the peer is gone.
  if ((revents_ & EPOLLHUP) && !(revents_ & EPOLLIN)) {
    if (closeCallback_) closeCallback_();
  }
  if (revents_ & EPOLLERR) {
    if (errorCallback_) errorCallback_();
  }
  if (revents_ & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) {
    if (readCallback_) readCallback_();
  }
  if (revents_ & EPOLLOUT) {
    if (writeCallback_) writeCallback_();
  }
  eventHandling_ = false;
}

}  // namespace lars::reactor
