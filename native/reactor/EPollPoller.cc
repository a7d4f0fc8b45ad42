#include "reactor/EPollPoller.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "reactor/Channel.h"
#include "reactor/Log.h"

namespace lars::reactor {

namespace {
// Channel::index() values.
constexpr int kNew = -1;      // never added
constexpr int kAdded = 1;     // in epoll's interest list
constexpr int kDeleted = 2;   // known, but out of the interest list (no events wanted)
}  // namespace

EPollPoller::EPollPoller(EventLoop* loop)
    : ownerLoop_(loop), epollfd_(::epoll_create1(EPOLL_CLOEXEC)), events_(kInitEventListSize) {
  if (epollfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

EPollPoller::~EPollPoller() { ::close(epollfd_); }

void EPollPoller::poll(int timeoutMs, ChannelList* active) {
  const int n = ::epoll_wait(epollfd_, events_.data(), static_cast<int>(events_.size()), timeoutMs);
  if (n < 0) {
    if (errno != EINTR) std::perror("lars reactor: epoll_wait");
    return;
  }
  for (int i = 0; i < n; ++i) {
    auto* channel = static_cast<Channel*>(events_[i].data.ptr);
    channel->setRevents(events_[i].events);
    active->push_back(channel);
  }
  if (static_cast<size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
}

void EPollPoller::updateChannel(Channel* channel) {
  const int index = channel->index();
  const int fd = channel->fd();
  if (index == kNew || index == kDeleted) {
    if (index == kNew) {
      assert(channels_.find(fd) == channels_.end());
      channels_[fd] = channel;
    } else {
      assert(channels_.count(fd) && channels_[fd] == channel);
    }
    if (channel->isNoneEvent()) {
      channel->setIndex(kDeleted);
      return;
    }
    channel->setIndex(kAdded);
    control(EPOLL_CTL_ADD, channel);
  } else {
    assert(channels_.count(fd) && channels_[fd] == channel);
    if (channel->isNoneEvent()) {
      control(EPOLL_CTL_DEL, channel);
      channel->setIndex(kDeleted);
    } else {
      control(EPOLL_CTL_MOD, channel);
    }
  }
}

void EPollPoller::removeChannel(Channel* channel) {
  const int fd = channel->fd();
  assert(channels_.count(fd) && channels_[fd] == channel);
  assert(channel->isNoneEvent());
  if (channel->index() == kAdded) control(EPOLL_CTL_DEL, channel);
  channels_.erase(fd);
  channel->setIndex(kNew);
}

void EPollPoller::control(int op, Channel* channel) {
  epoll_event event;
  std::memset(&event, 0, sizeof event);
  event.events = channel->events();
  event.data.ptr = channel;
  if (::epoll_ctl(epollfd_, op, channel->fd(), &event) < 0) {
    // A DEL on a descriptor the kernel already dropped is harmless; anything else is a bug.
    logLine("error", "reactor", "epoll_ctl op=" + std::to_string(op) + " fd=" + std::to_string(channel->fd()) + ": " +
                                   std::strerror(errno));
    assert(op == EPOLL_CTL_DEL);
  }
}

}  // namespace lars::reactor
