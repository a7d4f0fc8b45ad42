// AgentServer: the LoadBalance agent's hot path. Three UDP ports (base, base+1, base+2), each
// served by its own loop thread that owns that port's lars::balancer::Balancer: GetHostRequest,
// ReportRequest and API_GetRouteRequest are decoded, balanced and answered entirely in that
// thread, with no lock shared with control-plane work.
//
// The control plane (TypeScript, through the binding) talks to it in batches:
//  - out: route pulls (modules a balancer wants from DNS) and route reports (each port's
//    CollectReports, every report interval) queue up in BatchQueues; `pullsReady` /
//    `reportsReady` run on a loop thread when a queue goes from empty to non-empty and the
//    consumer then drains it from any thread;
//  - in: applyRoute (a whole host set) and onDnsReconnected are posted to the owning loop(s).
//
// Each port may also publish its routes in a shared-memory local view (AgentOptions::viewDir), which
// its loop thread alone writes: when a route is applied or a node changes state, and a heartbeat.
//
// Owns the three loop threads, UDP servers and balancers and both queues. Thread rules: every
// public method may be called from any thread except a port's own loop thread (stats() waits for
// each loop); callbacks run on loop threads and must not block. The destructor stops everything;
// no callback runs after it returns.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "reactor/BatchQueue.h"
#include "reactor/Callbacks.h"
#include "reactor/Counters.h"
#include "reactor/InetAddress.h"

namespace lars::reactor {
class EventLoop;
class EventLoopThread;
class InetAddress;
class UdpServer;
}  // namespace lars::reactor

namespace lars::wire {
struct ReportRequest;
}  // namespace lars::wire

namespace lars::agent {

// A route from the agent's disk cache, held by its port's balancer before that port reads a datagram.
struct SeedRoute {
  int32_t modid = 0;
  int32_t cmdid = 0;
  std::vector<balancer::HostAddr> hosts;
  std::optional<balancer::RoutePolicy> policy;
};

struct AgentOptions {
  std::string ip = "127.0.0.1";
  // The first of three consecutive ports; 0 picks any three consecutive free ports.
  uint16_t basePort = 0;
  // How often each port's balancer reports; a route reports at most once per interval.
  double reportIntervalMs = 1000;
  balancer::Config balancer;
  // Past these, queued items are dropped and counted (a consumer that stopped draining).
  size_t maxQueuedPulls = 1 << 20;
  size_t maxQueuedReports = 1 << 20;
  // Best-effort SO_RCVBUF of each port, so bursts are queued by the kernel rather than lost.
  int receiveBufferBytes = 4 << 20;
  // [agent] busy_poll_us: each port's loop polls without sleeping this long after its last
  // datagram (EventLoop::setBusyPoll); 0 = always sleep in epoll_wait. The config's default is 20.
  int busyPollUs = 0;
  // Routes from the disk cache: served from the first datagram on (Balancer::SeedRoute, state NEW).
  std::vector<SeedRoute> seeds;
  // [agent] view_dir: each port publishes its routes in <viewDir>/lars-agent-<port>.view for
  // in-process picks (view/ViewWriter); empty = off. A directory it cannot write in turns the
  // view off for that port, with a log line: the SDKs then use UDP.
  std::string viewDir;
};

// One port's counters. Event counts are monotonic; routes and nodes are gauges.
struct PortStats {
  uint16_t port = 0;
  reactor::CountersSnapshot reactor;  // datagrams_in / _out / _dropped (not one valid frame, or a refused reply)
  balancer::Counters balancer;        // picks by result, reports, state changes, pulls, routes, nodes
  uint64_t getRoutes = 0;             // API_GetRouteRequest answered
  uint64_t badBodies = 0;             // a valid frame whose body did not parse: dropped
  uint64_t unknownMsgIds = 0;         // a valid frame of a msgid the agent does not serve: dropped
  uint64_t replyFailures = 0;         // replies that could not be sent (also in reactor.datagrams_dropped)
};

// A RegisterRequest as received: handed to the control plane, which keeps registrations and
// answers through reply(). Registrations are rare, so they leave the hot path unparsed.
struct RegisterFrame {
  int port = 0;  // the index of the port it arrived on
  reactor::InetAddress peer;
  std::string body;
};

struct AgentStats {
  std::array<PortStats, 3> ports;
  uint64_t pullsQueueDropped = 0;
  uint64_t reportsQueueDropped = 0;
  uint64_t registersQueueDropped = 0;
};

class AgentServer {
 public:
  static constexpr int kPorts = 3;

  // The port index a module belongs to (PROTOCOL.md: (modid + cmdid) % 3), computed without
  // overflow and never negative.
  static int portIndex(int32_t modid, int32_t cmdid) {
    const int64_t sum = static_cast<int64_t>(modid) + static_cast<int64_t>(cmdid);
    return static_cast<int>(((sum % kPorts) + kPorts) % kPorts);
  }

  // The balancer's clock: the steady clock in milliseconds.
  static int64_t nowMs();

  // Binds the three ports (throws std::system_error, std::invalid_argument) and starts serving.
  // registersReady: RegisterRequests arrived in an empty queue (drainRegisters()).
  AgentServer(const AgentOptions& options, std::function<void()> pullsReady, std::function<void()> reportsReady,
              std::function<void()> registersReady = {});
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  uint16_t port(int index) const;

  // Modules to pull from DNS, oldest first (duplicates possible: the consumer may coalesce).
  std::vector<balancer::ModuleId> drainPulls() { return pulls_.drain(); }
  // Route reports, oldest first; the consumer adds caller and ts.
  std::vector<balancer::RouteReport> drainReports() { return reports_.drain(); }
  // RegisterRequests, oldest first.
  std::vector<RegisterFrame> drainRegisters() { return registers_.drain(); }
  // Sends one frame from port `index` to `peer` (any thread: UdpServer::sendFrameTo is thread-safe).
  // Returns false when it could not be sent.
  bool reply(int index, int32_t msgid, const void* body, size_t len, const reactor::InetAddress& peer);

  // A DNS reply or push: the module's whole host set (and its policy; none: `lars`), applied by the balancer of portIndex().
  void applyRoute(int32_t modid, int32_t cmdid, std::vector<balancer::HostAddr> hosts,
                  std::optional<balancer::RoutePolicy> policy = std::nullopt);
  // The DNS connection is (re-)established: every port queues a pull of every route it holds.
  void onDnsReconnected();

  // Every counter of every port, read in each port's loop (so per port it is one consistent cut).
  AgentStats stats() const;
  // Every node's cumulative counters per port, read in each port's loop; at most `limit` nodes
  // copied over all ports (ports in order), the rest only counted in each port's total.
  std::array<balancer::NodeStats, kPorts> nodeStats(size_t limit) const;
  // The zone rule's state of every zone-active route per port, read in each port's loop; at most
  // `limit` routes over all ports (ports in order).
  std::array<std::vector<balancer::ZoneStatus>, kPorts> zoneStatus(size_t limit) const;

  // Stops serving (joins the loop threads) and returns every route report not yet handed out:
  // what is queued plus each route's activity since its last report, whatever the interval. The
  // daemon sends these before it exits. Call once, from outside the loops; only the destructor
  // may follow.
  std::vector<balancer::RouteReport> stop();

 private:
  struct Port;

  void bindPorts(const AgentOptions& options);
  void onFrameInLoop(Port& p, int32_t msgid, const char* body, size_t len, const reactor::InetAddress& peer);
  void onGetHostInLoop(Port& p, const char* body, size_t len, const reactor::InetAddress& peer);
  void onReportInLoop(Port& p, const char* body, size_t len);
  void onReportBatchInLoop(Port& p, const char* body, size_t len);
  void applyReportInLoop(Port& p, const wire::ReportRequest& req, int64_t now);
  void onGetRouteInLoop(Port& p, const char* body, size_t len, const reactor::InetAddress& peer);
  void queuePullsInLoop(Port& p);
  void openViewInLoop(Port& p, const AgentOptions& options);
  // Writes the module's route to the port's local view, if it has one.
  void publishInLoop(Port& p, int32_t modid, int32_t cmdid);
  void collectReportsInLoop(Port& p);

  const double reportIntervalMs_;
  const int64_t startTimeMs_;  // wall clock, names this agent in its local views
  reactor::BatchQueue<balancer::ModuleId> pulls_;
  reactor::BatchQueue<balancer::RouteReport> reports_;
  reactor::BatchQueue<RegisterFrame> registers_;
  std::array<std::unique_ptr<Port>, kPorts> ports_;
};

}  // namespace lars::agent
