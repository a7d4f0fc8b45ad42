// The callback and time types shared by the reactor's classes (muduo's Callbacks.h).
// Everything a user hooks into the reactor is a std::function so a binding can adapt it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace lars::reactor {

class Buffer;
class InetAddress;
class TcpConnection;

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux; timerfd uses the same clock
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

using TcpConnectionPtr = std::shared_ptr<TcpConnection>;
using Functor = std::function<void()>;

using TimerCallback = std::function<void()>;
// Identifies a timer for EventLoop::cancel; 0 is never a valid id.
using TimerId = uint64_t;

// Called in the connection's loop thread.
using ConnectionCallback = std::function<void(const TcpConnectionPtr&)>;
using DisconnectCallback = std::function<void(const TcpConnectionPtr&)>;
using CloseCallback = std::function<void(const TcpConnectionPtr&)>;
using WriteCompleteCallback = std::function<void(const TcpConnectionPtr&)>;
// Raw bytes: the callback consumes what it can from the buffer and leaves the rest.
using MessageCallback = std::function<void(const TcpConnectionPtr&, Buffer*)>;
// One whole frame; `body` is valid only during the callback.
using FrameCallback =
    std::function<void(const TcpConnectionPtr&, int32_t msgid, const char* body, size_t len)>;

// Called in the UDP server's loop thread; `data`/`body` and `peer` are valid only during the callback.
using DatagramCallback = std::function<void(const char* data, size_t len, const InetAddress& peer)>;
using DatagramFrameCallback =
    std::function<void(int32_t msgid, const char* body, size_t len, const InetAddress& peer)>;

}  // namespace lars::reactor
