// EPollPoller: I/O multiplexing with epoll (level-triggered).
//
// Owns the epoll descriptor; doesn't own the Channels, which register and unregister themselves
// through their EventLoop. Loop-thread only, like the EventLoop that owns it.
#pragma once

#include <sys/epoll.h>

#include <unordered_map>
#include <vector>

namespace lars::reactor {

class Channel;
class EventLoop;

class EPollPoller {
 public:
  using ChannelList = std::vector<Channel*>;

  explicit EPollPoller(EventLoop* loop);
  ~EPollPoller();
  EPollPoller(const EPollPoller&) = delete;
  EPollPoller& operator=(const EPollPoller&) = delete;

  // Waits up to timeoutMs and fills `active` with the channels that have events.
  void poll(int timeoutMs, ChannelList* active);

  void updateChannel(Channel* channel);
  void removeChannel(Channel* channel);

 private:
  static constexpr int kInitEventListSize = 16;

  void control(int op, Channel* channel);

  EventLoop* const ownerLoop_;
  const int epollfd_;
  std::vector<epoll_event> events_;
  std::unordered_map<int, Channel*> channels_;
};

}  // namespace lars::reactor
