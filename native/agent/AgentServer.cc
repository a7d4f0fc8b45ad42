#include "agent/AgentServer.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include "reactor/EventLoop.h"
#include "reactor/Log.h"
#include "reactor/EventLoopThread.h"
#include "reactor/InetAddress.h"
#include "reactor/UdpServer.h"
#include "view/ViewWriter.h"
#include "wire/messages.h"

namespace lars::agent {

namespace lb = lars::balancer;

// One UDP port: its loop thread and everything that thread owns.
struct AgentServer::Port {
  int index = 0;
  std::unique_ptr<reactor::EventLoopThread> thread;
  reactor::EventLoop* loop = nullptr;
  std::unique_ptr<reactor::UdpServer> server;  // created on the constructing thread, destroyed in the loop
  std::unique_ptr<lb::Balancer> balancer;      // loop thread only
  reactor::TimerId reportTimer = 0;
  std::unique_ptr<view::ViewWriter> view;  // loop thread only; null when the local view is off
  reactor::TimerId heartbeatTimer = 0;
  // Loop thread only: scratch space reused by every request, and this port's own counters.
  std::vector<uint8_t> out;
  std::vector<lb::HostAddr> hosts;
  uint64_t getRoutes = 0;
  uint64_t badBodies = 0;
  uint64_t unknownMsgIds = 0;
  uint64_t replyFailures = 0;

  // Stops serving and joins the loop thread; afterwards the calling thread owns the balancer.
  void stopLoop() {
    if (loop != nullptr) {
      loop->runInLoopAndWait([this] {
        if (reportTimer != 0) loop->cancel(reportTimer);
        if (heartbeatTimer != 0) loop->cancel(heartbeatTimer);
        view.reset();  // marks it closed and unlinks it: readers fall back to UDP
        server.reset();
      });
      loop = nullptr;
    }
    thread.reset();  // quits and joins; functors already queued still run, with this Port alive
  }

  ~Port() { stopLoop(); }
};

namespace {

reactor::InetAddress addressOf(const std::string& ip, uint16_t port) {
  auto addr = reactor::InetAddress::parse(ip, port);
  if (!addr) throw std::invalid_argument("invalid agent address " + ip + " (expected an IPv4 dotted quad)");
  return *addr;
}

bool addressInUse(const std::system_error& e) { return e.code().value() == EADDRINUSE; }

// Half the 100 ms the local view's readers are promised, so a late tick never looks like a stall.
constexpr auto kViewHeartbeat = std::chrono::milliseconds(50);

}  // namespace

int64_t AgentServer::nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(reactor::Clock::now().time_since_epoch()).count();
}

AgentServer::AgentServer(const AgentOptions& options, std::function<void()> pullsReady,
                         std::function<void()> reportsReady, std::function<void()> registersReady)
    : reportIntervalMs_(options.reportIntervalMs),
      startTimeMs_(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()),
      pulls_(std::move(pullsReady), options.maxQueuedPulls),
      reports_(std::move(reportsReady), options.maxQueuedReports),
      registers_(std::move(registersReady), options.maxQueuedPulls) {
  if (!(options.reportIntervalMs > 0)) throw std::invalid_argument("reportIntervalMs must be positive");
  for (int i = 0; i < kPorts; ++i) {
    auto p = std::make_unique<Port>();
    p->index = i;
    p->thread = std::make_unique<reactor::EventLoopThread>(nullptr, "lars-agent-" + std::to_string(i));
    p->loop = p->thread->startLoop();
    p->loop->setBusyPoll(std::chrono::microseconds(options.busyPollUs));
    p->balancer = std::make_unique<lb::Balancer>(options.balancer);
    ports_[i] = std::move(p);
  }
  // The balancers are not yet touched by their loops, which read no datagram before start() below:
  // the cached routes are in place before the first get_host (the kernel queues what comes earlier).
  const int64_t now = nowMs();
  for (const SeedRoute& r : options.seeds) {
    ports_[static_cast<size_t>(portIndex(r.modid, r.cmdid))]->balancer->SeedRoute(r.modid, r.cmdid, r.hosts, now,
                                                                                   r.policy ? &*r.policy : nullptr);
  }
  bindPorts(options);
  const auto interval = std::chrono::duration_cast<reactor::Duration>(
      std::chrono::duration<double, std::milli>(options.reportIntervalMs));
  for (auto& p : ports_) {
    Port* port = p.get();
    if (!options.viewDir.empty()) port->loop->runInLoopAndWait([this, port, &options] { openViewInLoop(*port, options); });
    port->server->socket().setReceiveBufferSize(options.receiveBufferBytes);
    port->server->setFrameCallback([this, port](int32_t msgid, const char* body, size_t len,
                                                const reactor::InetAddress& peer) {
      onFrameInLoop(*port, msgid, body, len, peer);
    });
    port->server->start();
    port->reportTimer = port->loop->runEvery(interval, [this, port] { collectReportsInLoop(*port); });
  }
}

AgentServer::~AgentServer() {
  for (auto& p : ports_) p.reset();
}

std::vector<lb::RouteReport> AgentServer::stop() {
  // The loops stop first, so no request can land between the last collection and the end; then
  // this thread owns every balancer and takes what they have not reported, whatever the interval.
  for (auto& p : ports_) p->stopLoop();
  std::vector<lb::RouteReport> out = reports_.drain();
  const int64_t now = nowMs();
  for (auto& p : ports_) {
    for (lb::RouteReport& r : p->balancer->CollectReports(now, 0)) out.push_back(std::move(r));
  }
  return out;
}

void AgentServer::bindPorts(const AgentOptions& options) {
  // With base 0 the kernel picks the first port and the next two must be free too, else the
  // three are let go and we try again.
  constexpr int kAttempts = 64;
  for (int attempt = 0;; ++attempt) {
    try {
      uint16_t base = options.basePort;
      for (int i = 0; i < kPorts; ++i) {
        Port& p = *ports_[i];
        p.server = std::make_unique<reactor::UdpServer>(p.loop, addressOf(options.ip, static_cast<uint16_t>(base + i)),
                                                        "lars-agent-" + std::to_string(base + i));
        if (i == 0) base = p.server->localAddress().port();
        if (base > 65535 - (kPorts - 1)) throw std::system_error(EADDRINUSE, std::generic_category(), "no room above port");
      }
      return;
    } catch (const std::system_error& e) {
      for (auto& p : ports_) p->server.reset();  // not started yet: safe from this thread
      if (options.basePort == 0 && addressInUse(e) && attempt < kAttempts) continue;
      throw;
    }
  }
}

uint16_t AgentServer::port(int index) const { return ports_.at(static_cast<size_t>(index))->server->localAddress().port(); }

void AgentServer::onFrameInLoop(Port& p, int32_t msgid, const char* body, size_t len, const reactor::InetAddress& peer) {
  switch (msgid) {
    case wire::kGetHostRequest:
      onGetHostInLoop(p, body, len, peer);
      break;
    case wire::kReportRequest:
      onReportInLoop(p, body, len);
      break;
    case wire::kReportBatchRequest:
      onReportBatchInLoop(p, body, len);
      break;
    case wire::kApiGetRouteRequest:
      onGetRouteInLoop(p, body, len, peer);
      break;
    case wire::kRegisterRequest:
      registers_.push(RegisterFrame{p.index, peer, std::string(body, len)});
      break;
    default:
      ++p.unknownMsgIds;
      break;
  }
}

void AgentServer::onGetHostInLoop(Port& p, const char* body, size_t len, const reactor::InetAddress& peer) {
  wire::GetHostRequest req;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, req)) {
    ++p.badBodies;
    return;
  }
  const lb::HashKey key{reinterpret_cast<const uint8_t*>(req.hash_key.data()), req.hash_key.size()};
  const lb::PickResult r = p.balancer->Pick(req.modid, req.cmdid, nowMs(), key);
  wire::GetHostResponse rsp;
  rsp.seq = req.seq;
  rsp.modid = req.modid;
  rsp.cmdid = req.cmdid;
  rsp.retcode = r.retcode;
  if (r.retcode == lb::kRetSucc) {
    rsp.has_host = true;
    rsp.host.ip = r.ip;
    rsp.host.port = r.port;
  }
  p.out.clear();
  wire::encode(rsp, p.out);
  if (!p.server->sendFrameTo(wire::kGetHostResponse, p.out.data(), p.out.size(), peer)) ++p.replyFailures;
  if (r.pull) queuePullsInLoop(p);
}

void AgentServer::onReportInLoop(Port& p, const char* body, size_t len) {
  wire::ReportRequest req;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, req)) {
    ++p.badBodies;
    return;
  }
  applyReportInLoop(p, req, nowMs());
}

void AgentServer::onReportBatchInLoop(Port& p, const char* body, size_t len) {
  // Decoded whole before any is applied: a malformed batch changes nothing.
  wire::ReportBatchRequest batch;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, batch)) {
    ++p.badBodies;
    return;
  }
  // One clock reading for the batch: its reports arrived together, as back-to-back singles would.
  const int64_t now = nowMs();
  for (const wire::ReportRequest& req : batch.report) applyReportInLoop(p, req, now);
}

void AgentServer::applyReportInLoop(Port& p, const wire::ReportRequest& req, int64_t now) {
  // A report without a host names no node: the balancer ignores it (and counts it) like any
  // report for a node it does not hold.
  const int32_t ip = req.has_host ? req.host.ip : 0;
  const int32_t port = req.has_host ? req.host.port : -1;
  lb::Route::Change change = lb::Route::Change::kNone;
  p.balancer->Report(req.modid, req.cmdid, ip, port, req.retcode, now, req.usetime_us, &change);
  if (change != lb::Route::Change::kNone) publishInLoop(p, req.modid, req.cmdid);
}

void AgentServer::onGetRouteInLoop(Port& p, const char* body, size_t len, const reactor::InetAddress& peer) {
  wire::GetRouteRequest req;
  if (!wire::decode(reinterpret_cast<const uint8_t*>(body), len, req)) {
    ++p.badBodies;
    return;
  }
  p.hosts.clear();
  const bool pull = p.balancer->GetRoute(req.modid, req.cmdid, nowMs(), &p.hosts);
  ++p.getRoutes;
  wire::GetRouteResponse rsp;
  rsp.modid = req.modid;
  rsp.cmdid = req.cmdid;
  rsp.host.reserve(p.hosts.size());
  for (const lb::HostAddr& h : p.hosts) rsp.host.push_back(wire::HostInfo{h.ip, h.port, 0, {}});
  p.out.clear();
  wire::encode(rsp, p.out);
  // A route too large for one datagram cannot be answered (the store refuses such routes).
  if (!p.server->sendFrameTo(wire::kApiGetRouteResponse, p.out.data(), p.out.size(), peer)) ++p.replyFailures;
  if (pull) queuePullsInLoop(p);
}

bool AgentServer::reply(int index, int32_t msgid, const void* body, size_t len, const reactor::InetAddress& peer) {
  if (index < 0 || index >= kPorts) return false;
  return ports_[static_cast<size_t>(index)]->server->sendFrameTo(msgid, body, len, peer);
}

void AgentServer::queuePullsInLoop(Port& p) {
  for (const lb::ModuleId& m : p.balancer->TakePullRequests()) pulls_.push(m);
}

void AgentServer::openViewInLoop(Port& p, const AgentOptions& options) {
  view::ViewWriter::Identity id;
  id.port = p.server->localAddress().port();
  id.pid = static_cast<int32_t>(::getpid());
  id.start_time_ms = startTimeMs_;
  id.probe_num = options.balancer.probe_num;
  id.zone = options.balancer.zone;  // readers apply the same zone rule as this port
  std::string error;
  p.view = view::ViewWriter::Create(options.viewDir, id, &error);
  if (!p.view) {
    reactor::logLine("warn", "agent", "local view off for port " + std::to_string(id.port) + ": " + error +
                                          " (fix [agent] view_dir; SDKs use UDP meanwhile)");
    return;
  }
  for (const SeedRoute& r : options.seeds) {
    if (portIndex(r.modid, r.cmdid) == p.index) publishInLoop(p, r.modid, r.cmdid);
  }
  p.heartbeatTimer = p.loop->runEvery(kViewHeartbeat, [&p] {
    if (p.view) p.view->Beat(view::MonotonicMs());
  });
}

void AgentServer::publishInLoop(Port& p, int32_t modid, int32_t cmdid) {
  if (!p.view || p.view->Publish(*p.balancer, modid, cmdid)) return;
  reactor::logLine("error", "agent", "local view " + p.view->path() + " dropped: " + p.view->error() + " (SDKs use UDP)");
  p.view.reset();
}

void AgentServer::collectReportsInLoop(Port& p) {
  // The timer already spaces reports one interval apart; half an interval of slack keeps a tick
  // that fires a little early from skipping a route until the tick after.
  for (lb::RouteReport& r : p.balancer->CollectReports(nowMs(), reportIntervalMs_ / 2)) reports_.push(std::move(r));
}

void AgentServer::applyRoute(int32_t modid, int32_t cmdid, std::vector<lb::HostAddr> hosts,
                             std::optional<lb::RoutePolicy> policy) {
  Port* p = ports_[static_cast<size_t>(portIndex(modid, cmdid))].get();
  p->loop->queueInLoop([this, p, modid, cmdid, hosts = std::move(hosts), policy = std::move(policy)] {
    const uint64_t evicted = p->balancer->empty_routes_evicted();
    p->balancer->ApplyRoute(modid, cmdid, hosts, nowMs(), policy ? &*policy : nullptr);
    publishInLoop(*p, modid, cmdid);
    if (p->view && p->balancer->empty_routes_evicted() != evicted) p->view->SweepGone(*p->balancer);
  });
}

void AgentServer::onDnsReconnected() {
  for (auto& port : ports_) {
    Port* p = port.get();
    p->loop->queueInLoop([this, p] {
      for (const lb::ModuleId& m : p->balancer->OnDnsReconnected()) pulls_.push(m);
    });
  }
}

AgentStats AgentServer::stats() const {
  AgentStats s;
  for (int i = 0; i < kPorts; ++i) {
    const Port* p = ports_[static_cast<size_t>(i)].get();
    PortStats& ps = s.ports[static_cast<size_t>(i)];
    p->loop->runInLoopAndWait([p, &ps] {
      ps.port = p->server->localAddress().port();
      ps.reactor = p->server->counters().snapshot();
      ps.balancer = p->balancer->counters();
      ps.getRoutes = p->getRoutes;
      ps.badBodies = p->badBodies;
      ps.unknownMsgIds = p->unknownMsgIds;
      ps.replyFailures = p->replyFailures;
    });
  }
  s.pullsQueueDropped = pulls_.dropped();
  s.reportsQueueDropped = reports_.dropped();
  s.registersQueueDropped = registers_.dropped();
  return s;
}

std::array<balancer::NodeStats, AgentServer::kPorts> AgentServer::nodeStats(size_t limit) const {
  std::array<balancer::NodeStats, kPorts> out;
  for (int i = 0; i < kPorts; ++i) {
    const Port* p = ports_[static_cast<size_t>(i)].get();
    balancer::NodeStats& s = out[static_cast<size_t>(i)];
    p->loop->runInLoopAndWait([p, &s, limit] { s = p->balancer->nodeStats(limit); });
    limit -= s.zones.size();
  }
  return out;
}

std::array<std::vector<balancer::ZoneStatus>, AgentServer::kPorts> AgentServer::zoneStatus(size_t limit) const {
  std::array<std::vector<balancer::ZoneStatus>, kPorts> out;
  for (int i = 0; i < kPorts; ++i) {
    const Port* p = ports_[static_cast<size_t>(i)].get();
    std::vector<balancer::ZoneStatus>& s = out[static_cast<size_t>(i)];
    p->loop->runInLoopAndWait([p, &s, limit] { s = p->balancer->zoneStatus(limit); });
    limit -= s.size();
  }
  return out;
}

}  // namespace lars::agent
