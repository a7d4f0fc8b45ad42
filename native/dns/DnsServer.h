// DnsServer: the DNS service's hot path. Answers GetRouteRequest from an in-memory route table
// and subscribes the connection to that module, entirely on the reactor's I/O threads; pushes a
// module's current frame to its subscribers when told the module changed.
//
// Owns its base loop thread (accepting), the TcpServer (and so the I/O threads) and the current
// RouteTable (shared, immutable, swapped whole). Each I/O loop owns its Subscriptions (in the
// loop's context, made by the thread-init callback): only that loop's thread touches them, so
// the request path takes no lock. Thread rules: every public method may be called from any
// thread (the binding calls them from Node's main thread); the destructor stops everything.
// A connection subscribes to at most maxSubscriptionsPerConn modules; past that its requests
// are answered but not subscribed, counted and logged (rate-limited), so one client cannot
// grow the server's memory without bound.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "reactor/BatchQueue.h"
#include "reactor/Counters.h"
#include "reactor/TcpServerHost.h"

namespace lars::dns {

// (modid, cmdid) as one key: modid in the high 32 bits, both unsigned.
inline uint64_t moduleKey(uint32_t modid, uint32_t cmdid) { return (uint64_t{modid} << 32) | cmdid; }

// One immutable snapshot of every module's pre-encoded GetRouteResponse frame (header included).
struct RouteTable {
  std::unordered_map<uint64_t, std::string> frames;

  // Parses the binding's serialised form: per module u32 modid, u32 cmdid, u32 length, frame
  // bytes (little-endian). Returns nullptr if the buffer is malformed.
  static std::shared_ptr<const RouteTable> parse(const uint8_t* data, size_t len);
};

struct DnsStats {
  reactor::CountersSnapshot reactor;
  uint64_t connections = 0;
  uint64_t subscriptions = 0;
  uint64_t subscriptionsRefused = 0;
  uint64_t replies = 0;
  uint64_t pushes = 0;
  uint64_t badBodies = 0;
  uint64_t unknownMsgIds = 0;
  uint64_t leaseFrames = 0;
  uint64_t leaseFramesDropped = 0;
};

class DnsServer {
 public:
  // Binds and listens (throws std::system_error / std::invalid_argument), then starts serving.
  DnsServer(const reactor::ListenOptions& options, size_t maxSubscriptionsPerConn);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  uint16_t port() const;
  // Replaces the served table; requests after this see the new one.
  void setTable(std::shared_ptr<const RouteTable> table);
  // Sends each module's current frame to every connection subscribed to it.
  void push(std::vector<uint64_t> modules);
  DnsStats stats() const;
  // LeaseRequest bodies received since the last call, oldest first (any thread). The control plane
  // drains them on its write timer: leases are written in batches anyway, so no wake-up is needed.
  std::vector<std::string> takeLeaseFrames() { return leaseFrames_.drain(); }

 private:
  // One I/O loop's subscriptions: module → connections, kept in that loop's context. Raw
  // pointers (a subscription costs one small node): a connection's disconnect callback, which
  // always runs before the connection can go away, removes its entries.
  struct Subscriptions {
    std::unordered_map<uint64_t, std::unordered_set<reactor::TcpConnection*>> byModule;
  };

  void onFrameInLoop(const reactor::TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len);
  void onDisconnectInLoop(const reactor::TcpConnectionPtr& conn);
  void pushInLoop(reactor::EventLoop* loop, const std::vector<uint64_t>& modules);
  void refuseSubscriptionInLoop(const reactor::TcpConnectionPtr& conn);
  std::shared_ptr<const RouteTable> table() const { return std::atomic_load(&table_); }
  static Subscriptions& subscriptionsOf(reactor::EventLoop* loop);

  const size_t maxSubscriptionsPerConn_;
  std::shared_ptr<const RouteTable> table_;
  std::atomic<uint64_t> subscriptions_{0};
  std::atomic<uint64_t> subscriptionsRefused_{0};
  // Steady-clock milliseconds of the last refusal logged; shared by the I/O threads.
  std::atomic<int64_t> refusalLoggedAtMs_;
  std::atomic<uint64_t> replies_{0};
  std::atomic<uint64_t> pushes_{0};
  std::atomic<uint64_t> badBodies_{0};
  std::atomic<uint64_t> unknownMsgIds_{0};
  std::atomic<uint64_t> leaseFramesIn_{0};
  // Bounded: a control plane that stopped draining costs dropped (counted) frames, not memory.
  reactor::BatchQueue<std::string> leaseFrames_{{}, 65536};
  // Last: destroyed first, so no I/O thread runs while the state above goes away.
  std::unique_ptr<reactor::TcpServerHost> host_;
};

}  // namespace lars::dns
