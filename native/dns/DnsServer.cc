#include "dns/DnsServer.h"

#include <algorithm>
#include <any>
#include <chrono>
#include <cstring>

#include "reactor/EventLoop.h"
#include "reactor/Log.h"
#include "reactor/TcpConnection.h"
#include "wire/messages.h"

namespace lars::dns {

namespace {

uint32_t readU32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// The reply for a module the table does not know: its modid/cmdid and no hosts (as the reference).
std::string emptyRouteFrame(int32_t modid, int32_t cmdid) {
  wire::GetRouteResponse rsp;
  rsp.modid = modid;
  rsp.cmdid = cmdid;
  std::vector<uint8_t> out;
  wire::append_frame(wire::kGetRouteResponse, rsp, out);
  return std::string(out.begin(), out.end());
}

// What a connection subscribed to, kept in its context so a disconnect can undo it. A sorted
// vector: an agent subscribes to a handful of modules, and a node-based set would cost a heap
// node and a bucket array per connection.
using ConnectionModules = std::vector<uint64_t>;

// A client past its subscription cap usually keeps asking: one line per interval is enough.
constexpr int64_t kRefusalLogIntervalMs = 10000;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::shared_ptr<const RouteTable> RouteTable::parse(const uint8_t* data, size_t len) {
  auto table = std::make_shared<RouteTable>();
  size_t at = 0;
  while (at < len) {
    if (len - at < 12) return nullptr;
    const uint32_t modid = readU32(data + at);
    const uint32_t cmdid = readU32(data + at + 4);
    const uint32_t size = readU32(data + at + 8);
    at += 12;
    if (size > len - at || size > wire::kMaxFrameSize) return nullptr;
    table->frames[moduleKey(modid, cmdid)] = std::string(reinterpret_cast<const char*>(data + at), size);
    at += size;
  }
  return table;
}

DnsServer::DnsServer(const reactor::ListenOptions& options, size_t maxSubscriptionsPerConn)
    : maxSubscriptionsPerConn_(maxSubscriptionsPerConn),
      table_(std::make_shared<RouteTable>()),
      refusalLoggedAtMs_(nowMs() - kRefusalLogIntervalMs) {
  host_ = std::make_unique<reactor::TcpServerHost>(options, "lars-dns", [&](reactor::TcpServer& server) {
    // Runs in each I/O thread before its loop starts.
    server.setThreadInitCallback([](reactor::EventLoop* loop) { loop->contextInLoop() = Subscriptions{}; });
    server.setFrameCallback([this](const reactor::TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
      onFrameInLoop(conn, msgid, body, len);
    });
    server.setDisconnectCallback([this](const reactor::TcpConnectionPtr& conn) { onDisconnectInLoop(conn); });
  });
}

DnsServer::~DnsServer() { host_.reset(); }

uint16_t DnsServer::port() const { return host_->server().listenAddress().port(); }

void DnsServer::setTable(std::shared_ptr<const RouteTable> table) { std::atomic_store(&table_, std::move(table)); }

DnsServer::Subscriptions& DnsServer::subscriptionsOf(reactor::EventLoop* loop) {
  return std::any_cast<Subscriptions&>(loop->contextInLoop());
}

void DnsServer::onFrameInLoop(const reactor::TcpConnectionPtr& conn, int32_t msgid, const char* body, size_t len) {
  if (msgid == wire::kLeaseRequest) {
    leaseFramesIn_.fetch_add(1, std::memory_order_relaxed);
    leaseFrames_.push(std::string(body, len));
    return;
  }
  if (msgid != wire::kGetRouteRequest) {
    unknownMsgIds_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  wire::GetRouteRequest req;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, req)) {
    badBodies_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t key = moduleKey(static_cast<uint32_t>(req.modid), static_cast<uint32_t>(req.cmdid));
  std::any& ctx = conn->context();
  if (!ctx.has_value()) ctx = ConnectionModules{};
  auto& mine = std::any_cast<ConnectionModules&>(ctx);
  const auto at = std::lower_bound(mine.begin(), mine.end(), key);
  if (at == mine.end() || *at != key) {
    if (mine.size() < maxSubscriptionsPerConn_) {
      mine.insert(at, key);
      subscriptionsOf(conn->getLoop()).byModule[key].insert(conn.get());
      subscriptions_.fetch_add(1, std::memory_order_relaxed);
    } else {
      refuseSubscriptionInLoop(conn);
    }
  }
  const auto snapshot = table();
  const auto it = snapshot->frames.find(key);
  if (it != snapshot->frames.end()) {
    conn->send(it->second.data(), it->second.size());
  } else {
    const std::string frame = emptyRouteFrame(req.modid, req.cmdid);
    conn->send(frame.data(), frame.size());
  }
  replies_.fetch_add(1, std::memory_order_relaxed);
}

void DnsServer::refuseSubscriptionInLoop(const reactor::TcpConnectionPtr& conn) {
  const uint64_t refused = subscriptionsRefused_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t now = nowMs();
  int64_t last = refusalLoggedAtMs_.load(std::memory_order_relaxed);
  if (now - last < kRefusalLogIntervalMs || !refusalLoggedAtMs_.compare_exchange_strong(last, now)) return;
  reactor::logLine("warn", "dns",
                   "connection from " + conn->peerAddress().toIpPort() + " is subscribed to max_subscriptions_per_conn (" +
                       std::to_string(maxSubscriptionsPerConn_) +
                       ") modules; further requests are answered but not subscribed (" + std::to_string(refused) +
                       " refused so far, logged at most every " + std::to_string(kRefusalLogIntervalMs / 1000) + " s)");
}

void DnsServer::onDisconnectInLoop(const reactor::TcpConnectionPtr& conn) {
  std::any& ctx = conn->context();
  if (!ctx.has_value()) return;
  auto& mine = std::any_cast<ConnectionModules&>(ctx);
  auto& subs = subscriptionsOf(conn->getLoop()).byModule;
  for (uint64_t key : mine) {
    auto it = subs.find(key);
    if (it == subs.end()) continue;
    it->second.erase(conn.get());
    if (it->second.empty()) subs.erase(it);
  }
  subscriptions_.fetch_sub(mine.size(), std::memory_order_relaxed);
  ConnectionModules().swap(mine);
}

void DnsServer::push(std::vector<uint64_t> modules) {
  auto shared = std::make_shared<const std::vector<uint64_t>>(std::move(modules));
  for (reactor::EventLoop* loop : host_->ioLoops()) {
    loop->queueInLoop([this, loop, shared] { pushInLoop(loop, *shared); });
  }
}

void DnsServer::pushInLoop(reactor::EventLoop* loop, const std::vector<uint64_t>& modules) {
  const auto snapshot = table();
  auto& subs = subscriptionsOf(loop).byModule;
  for (uint64_t key : modules) {
    const auto it = subs.find(key);
    if (it == subs.end()) continue;
    // One encoded frame per module, shared by every subscriber's write (the snapshot keeps it alive;
    // send writes from it directly and copies only what a full socket does not take).
    const auto frame = snapshot->frames.find(key);
    const std::string missing = frame != snapshot->frames.end()
                                    ? std::string()
                                    : emptyRouteFrame(static_cast<int32_t>(key >> 32), static_cast<int32_t>(key));
    const std::string& frameBytes = frame != snapshot->frames.end() ? frame->second : missing;
    // A send can close its connection on the spot (peer gone, output cap passed), and the
    // disconnect edits this map: iterate over a copy.
    std::vector<reactor::TcpConnectionPtr> targets;
    targets.reserve(it->second.size());
    for (reactor::TcpConnection* conn : it->second) targets.push_back(conn->shared_from_this());
    for (const auto& conn : targets) conn->send(frameBytes.data(), frameBytes.size());
    pushes_.fetch_add(targets.size(), std::memory_order_relaxed);
  }
}

DnsStats DnsServer::stats() const {
  DnsStats s;
  s.reactor = host_->server().counters().snapshot();
  s.connections = host_->server().connectionCount();
  s.subscriptions = subscriptions_.load(std::memory_order_relaxed);
  s.subscriptionsRefused = subscriptionsRefused_.load(std::memory_order_relaxed);
  s.replies = replies_.load(std::memory_order_relaxed);
  s.pushes = pushes_.load(std::memory_order_relaxed);
  s.badBodies = badBodies_.load(std::memory_order_relaxed);
  s.unknownMsgIds = unknownMsgIds_.load(std::memory_order_relaxed);
  s.leaseFrames = leaseFramesIn_.load(std::memory_order_relaxed);
  s.leaseFramesDropped = leaseFrames_.dropped();
  return s;
}

}  // namespace lars::dns
