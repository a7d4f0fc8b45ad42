// Channel: routes the I/O events of one file descriptor to callbacks.
//
// Doesn't own the file descriptor (its owner — a Socket, an eventfd, a timerfd — closes it).
// A Channel belongs to one EventLoop for its whole life and every method, including the
// destructor, is loop-thread only; so the class as a whole is "InLoop" and its methods keep
// muduo's short names. Remove it (remove()) before destroying it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace lars::reactor {

class EventLoop;

class Channel {
 public:
  using EventCallback = std::function<void()>;

  Channel(EventLoop* loop, int fd);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  void handleEvent();

  void setReadCallback(EventCallback cb) { readCallback_ = std::move(cb); }
  void setWriteCallback(EventCallback cb) { writeCallback_ = std::move(cb); }
  void setCloseCallback(EventCallback cb) { closeCallback_ = std::move(cb); }
  void setErrorCallback(EventCallback cb) { errorCallback_ = std::move(cb); }

  // Keeps the owner (held by a shared_ptr) alive while handleEvent runs, and skips the
  // event when the owner is already gone.
  void tie(const std::shared_ptr<void>& owner);

  int fd() const { return fd_; }
  uint32_t events() const { return events_; }
  void setRevents(uint32_t revents) { revents_ = revents; }
  bool isNoneEvent() const { return events_ == kNoneEvent; }
  bool isReading() const { return events_ & kReadEvent; }
  bool isWriting() const { return events_ & kWriteEvent; }

  void enableReading() { events_ |= kReadEvent; update(); }
  void disableReading() { events_ &= ~kReadEvent; update(); }
  void enableWriting() { events_ |= kWriteEvent; update(); }
  void disableWriting() { events_ &= ~kWriteEvent; update(); }
  void disableAll() { events_ = kNoneEvent; update(); }
  // Unregisters from the loop's poller; call disableAll() first.
  void remove();

  // Poller bookkeeping.
  int index() const { return index_; }
  void setIndex(int index) { index_ = index; }

  EventLoop* ownerLoop() const { return loop_; }

 private:
  static const uint32_t kNoneEvent;
  static const uint32_t kReadEvent;
  static const uint32_t kWriteEvent;

  void update();
  void handleEventWithGuard();

  EventLoop* const loop_;
  const int fd_;
  uint32_t events_ = 0;
  uint32_t revents_ = 0;
  int index_ = -1;  // EPollPoller's state for this channel
  bool addedToLoop_ = false;
  bool eventHandling_ = false;
  bool tied_ = false;
  std::weak_ptr<void> tie_;
  EventCallback readCallback_;
  EventCallback writeCallback_;
  EventCallback closeCallback_;
  EventCallback errorCallback_;
};

}  // namespace lars::reactor
