// TcpConnection: one accepted TCP connection, shared by its server, in-flight functors and users.
//
// Owns its Socket (so the descriptor), its Channel and its input/output Buffers; lives as long
// as anyone holds its shared_ptr. It belongs to one I/O loop (getLoop()):
//  - any thread: send, sendFrame, shutdown, forceClose, connected/disconnected, id, addresses;
//  - loop thread: the *InLoop methods, inputBuffer/outputBuffer, context, setTcpNoDelay,
//    and every callback it makes;
//  - set the callbacks and caps before connectEstablishedInLoop (TcpServer does all this).
// Don't use a connection after the server (and its loops) that created it were destroyed.
//
// Reading: with a FrameCallback each whole frame is delivered (body valid only during the
// callback); a negative or too-large msglen closes the connection and counts a protocol error.
// Without one, the MessageCallback gets the raw input Buffer. Unconsumed input beyond the input
// cap closes the connection (input_overflow_closes).
// Buffers: both start empty and give their storage back whenever they drain, so an idle
// connection holds no buffer memory (a DNS instance keeps tens of thousands of idle subscribers).
// Writing: non-blocking; with nothing pending, send writes straight from the caller's bytes (a
// push shares one encoded frame across every subscriber); what the kernel doesn't take waits in
// the output buffer. Once pending
// output passes the output cap (a peer that doesn't read) the connection is closed
// (output_overflow_closes).
// Closing: the DisconnectCallback runs exactly once, in the loop thread. When the peer half-closes
// (EOF), reading stops, pending output is flushed, then the connection closes. Keep-alive probes
// (set by TcpServer) detect half-open peers.
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "reactor/Buffer.h"
#include "reactor/Callbacks.h"
#include "reactor/Counters.h"
#include "reactor/InetAddress.h"

namespace lars::reactor {

class Channel;
class EventLoop;
class Socket;

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  static constexpr size_t kDefaultOutputCap = 4 * 1024 * 1024;
  static constexpr size_t kDefaultInputCap = 1024 * 1024;

  // Takes ownership of sockfd.
  TcpConnection(EventLoop* loop, uint64_t id, int sockfd, const InetAddress& localAddr,
                const InetAddress& peerAddr, std::shared_ptr<Counters> counters);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  EventLoop* getLoop() const { return loop_; }
  uint64_t id() const { return id_; }
  const InetAddress& localAddress() const { return localAddr_; }
  const InetAddress& peerAddress() const { return peerAddr_; }
  bool connected() const { return state_.load() == kConnected; }
  bool disconnected() const { return state_.load() == kDisconnected; }

  // Any thread. Data sent after the connection started closing is dropped.
  void send(const void* data, size_t len);
  void send(std::string data);
  // Any thread. Sends header + body as one frame. False (nothing sent) when len > kMaxBodySize.
  bool sendFrame(int32_t msgid, const void* body, size_t len);
  // Any thread. Half-closes our side once pending output is flushed.
  void shutdown();
  // Any thread. Closes now, dropping pending output.
  void forceClose();

  // Loop thread (or before connectEstablishedInLoop).
  void setTcpNoDelay(bool on);
  void setKeepAlive(int idleSeconds, int intervalSeconds, int count);
  Buffer* inputBuffer() { return &inputBuffer_; }
  Buffer* outputBuffer() { return &outputBuffer_; }
  // An opaque per-connection slot for users (e.g. the DNS service's subscription set). Loop thread.
  std::any& context() { return context_; }

  // Set before connectEstablishedInLoop.
  void setConnectionCallback(ConnectionCallback cb) { connectionCallback_ = std::move(cb); }
  void setDisconnectCallback(DisconnectCallback cb) { disconnectCallback_ = std::move(cb); }
  void setMessageCallback(MessageCallback cb) { messageCallback_ = std::move(cb); }
  void setFrameCallback(FrameCallback cb) { frameCallback_ = std::move(cb); }
  void setWriteCompleteCallback(WriteCompleteCallback cb) { writeCompleteCallback_ = std::move(cb); }
  // The owner's hook to forget the connection (TcpServer); runs after the DisconnectCallback.
  void setCloseCallback(CloseCallback cb) { closeCallback_ = std::move(cb); }
  void setOutputCap(size_t bytes) { outputCap_ = bytes; }
  void setInputCap(size_t bytes) { inputCap_ = bytes; }

  // Loop thread, once each: start reading / final tear-down (removes the channel).
  void connectEstablishedInLoop();
  void connectDestroyedInLoop();

 private:
  enum State { kConnecting, kConnected, kDisconnecting, kDisconnected };

  void handleRead();
  void handleWrite();
  void handleClose();
  void handleError();
  void deliverFrames();
  void sendInLoop(const void* data, size_t len);
  void sendFrameInLoop(int32_t msgid, const void* body, size_t len);
  void writeOutputInLoop();
  void flushOrCheckCapInLoop();
  void shutdownInLoop();
  void forceCloseInLoop();

  EventLoop* const loop_;
  const uint64_t id_;
  std::atomic<int> state_{kConnecting};
  bool peerClosed_ = false;  // read EOF: close once output is flushed
  std::unique_ptr<Socket> socket_;
  std::unique_ptr<Channel> channel_;
  const InetAddress localAddr_;
  const InetAddress peerAddr_;
  const std::shared_ptr<Counters> counters_;
  size_t outputCap_ = kDefaultOutputCap;
  size_t inputCap_ = kDefaultInputCap;
  ConnectionCallback connectionCallback_;
  DisconnectCallback disconnectCallback_;
  MessageCallback messageCallback_;
  FrameCallback frameCallback_;
  WriteCompleteCallback writeCompleteCallback_;
  CloseCallback closeCallback_;
  Buffer inputBuffer_;
  Buffer outputBuffer_;
  std::any context_;
};

}  // namespace lars::reactor
