#include "binding/agent_binding.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/AgentServer.h"
#include "binding/balancer_binding.h"
#include "binding/errors.h"

namespace lars::binding {
namespace {

namespace lb = lars::balancer;

[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& msg) { ThrowLarsError(env, code, msg); }

double Number(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) Throw(o.Env(), "ERR_CONFIG", std::string("AgentServer options: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

agent::AgentOptions ReadOptions(Napi::Value value) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) Throw(env, "ERR_CONFIG", "AgentServer: expected an options object");
  Napi::Object o = value.As<Napi::Object>();
  agent::AgentOptions opts;
  if (!o.Get("ip").IsString()) Throw(env, "ERR_CONFIG", "AgentServer options: ip must be a string");
  opts.ip = o.Get("ip").As<Napi::String>().Utf8Value();
  opts.basePort = static_cast<uint16_t>(Number(o, "port"));
  opts.reportIntervalMs = Number(o, "reportIntervalMs");
  if (!o.Get("loadbalance").IsObject()) Throw(env, "ERR_CONFIG", "AgentServer options: loadbalance must be an object");
  opts.balancer = BalancerConfigOf(o.Get("loadbalance").As<Napi::Object>());
  // viewDir: [agent] view_dir ('' or absent: no local view).
  const Napi::Value viewDir = o.Get("viewDir");
  if (!viewDir.IsUndefined()) {
    if (!viewDir.IsString()) Throw(env, "ERR_CONFIG", "AgentServer options: viewDir must be a string");
    opts.viewDir = viewDir.As<Napi::String>().Utf8Value();
  }
  // seeds: [{ modid, cmdid, flat: Int32Array, zones: string[], policy? }] (packHosts), read once here.
  const Napi::Value seeds = o.Get("seeds");
  if (!seeds.IsUndefined()) {
    if (!seeds.IsArray()) Throw(env, "ERR_CONFIG", "AgentServer options: seeds must be an array");
    const Napi::Array a = seeds.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      const Napi::Value v = a.Get(i);
      if (!v.IsObject()) Throw(env, "ERR_CONFIG", "AgentServer options: seeds[] must be objects");
      const Napi::Object r = v.As<Napi::Object>();
      agent::SeedRoute seed;
      seed.modid = static_cast<int32_t>(Number(r, "modid"));
      seed.cmdid = static_cast<int32_t>(Number(r, "cmdid"));
      seed.hosts = HostsOf(env, r.Get("flat"), r.Get("zones"));
      lb::RoutePolicy p;
      if (PolicyOf(r.Get("policy"), &p)) seed.policy = std::move(p);
      opts.seeds.push_back(std::move(seed));
    }
  }
  return opts;
}

// Route reports flattened as, per route, modid, cmdid, n, then n × (ip, port, succ, err,
// overload 0|1, usetimeSumUs, usetimeMaxUs, timedCalls): one Float64Array per batch.
Napi::Float64Array FlatReports(Napi::Env env, const std::vector<lb::RouteReport>& reps) {
  size_t len = 0;
  for (const auto& r : reps) len += 3 + 8 * r.results.size();
  auto flat = Napi::Float64Array::New(env, len);
  size_t i = 0;
  for (const auto& r : reps) {
    flat[i++] = r.modid;
    flat[i++] = r.cmdid;
    flat[i++] = static_cast<double>(r.results.size());
    for (const auto& n : r.results) {
      flat[i++] = n.ip;
      flat[i++] = n.port;
      flat[i++] = static_cast<double>(n.succ);
      flat[i++] = static_cast<double>(n.err);
      flat[i++] = n.overload ? 1 : 0;
      flat[i++] = static_cast<double>(n.usetime_sum_us);
      flat[i++] = n.usetime_max_us;
      flat[i++] = n.timed_calls;
    }
  }
  return flat;
}

// Everything the JS object owns, kept apart from the wrap so that a batch call already queued on
// a ThreadSafeFunction finds out safely (through a weak_ptr) that the object is gone.
struct State : std::enable_shared_from_this<State> {
  napi_env env = nullptr;
  Napi::ThreadSafeFunction onPulls;
  Napi::ThreadSafeFunction onReports;
  Napi::ThreadSafeFunction onRegisters;
  std::unique_ptr<agent::AgentServer> server;
  bool hooked = false;

  // Loop thread: pulls arrived in an empty queue. One JS call then drains everything queued.
  void notifyPulls() {
    onPulls.NonBlockingCall([weak = weak_from_this()](Napi::Env env, Napi::Function fn) {
      auto self = weak.lock();
      if (!self || !self->server) return;
      const std::vector<lb::ModuleId> mods = self->server->drainPulls();
      if (mods.empty()) return;
      auto pairs = Napi::Int32Array::New(env, mods.size() * 2);
      for (size_t i = 0; i < mods.size(); ++i) {
        pairs[2 * i] = mods[i].modid;
        pairs[2 * i + 1] = mods[i].cmdid;
      }
      fn.Call({pairs});
    });
  }

  // Loop thread: reports arrived in an empty queue. One JS call then drains everything queued.
  void notifyReports() {
    onReports.NonBlockingCall([weak = weak_from_this()](Napi::Env env, Napi::Function fn) {
      auto self = weak.lock();
      if (!self || !self->server) return;
      const std::vector<lb::RouteReport> reps = self->server->drainReports();
      if (reps.empty()) return;
      fn.Call({FlatReports(env, reps)});
    });
  }

  // Loop thread: RegisterRequests arrived in an empty queue. One JS call with
  // [{ port, ip, peerPort, body }, ...] drains everything queued.
  void notifyRegisters() {
    onRegisters.NonBlockingCall([weak = weak_from_this()](Napi::Env env, Napi::Function fn) {
      auto self = weak.lock();
      if (!self || !self->server) return;
      const std::vector<agent::RegisterFrame> frames = self->server->drainRegisters();
      if (frames.empty()) return;
      Napi::Array out = Napi::Array::New(env, frames.size());
      for (size_t i = 0; i < frames.size(); ++i) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("port", frames[i].port);
        o.Set("ip", frames[i].peer.toIp());
        o.Set("peerPort", frames[i].peer.port());
        o.Set("body", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(frames[i].body.data()),
                                                 frames[i].body.size()));
        out.Set(static_cast<uint32_t>(i), o);
      }
      fn.Call({out});
    });
  }

  // JS thread (or environment teardown). Stops the loops first, so nothing notifies afterwards.
  void shutdown() {
    if (hooked) {
      napi_remove_env_cleanup_hook(env, &State::OnEnvCleanup, this);
      hooked = false;
    }
    if (!server) return;
    server.reset();
    onPulls.Release();
    onReports.Release();
    onRegisters.Release();
  }

  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<State*>(arg);
    self->hooked = false;  // the hook is being run: it must not be removed
    self->shutdown();
  }
};

void SetCount(Napi::Object& o, const char* key, uint64_t v) { o.Set(key, Napi::Number::New(o.Env(), static_cast<double>(v))); }

Napi::Object PortStatsObject(Napi::Env env, const agent::PortStats& s) {
  Napi::Object o = Napi::Object::New(env);
  const lb::Counters& b = s.balancer;
  SetCount(o, "port", s.port);
  SetCount(o, "datagramsIn", s.reactor.datagrams_in);
  SetCount(o, "datagramsOut", s.reactor.datagrams_out);
  SetCount(o, "datagramsDropped", s.reactor.datagrams_dropped);
  SetCount(o, "badBodies", s.badBodies);
  SetCount(o, "unknownMsgIds", s.unknownMsgIds);
  SetCount(o, "replyFailures", s.replyFailures);
  SetCount(o, "getHostSucc", b.picks_succ);
  SetCount(o, "getHostOverload", b.picks_overload);
  SetCount(o, "getHostNoExist", b.picks_noexist);
  SetCount(o, "probes", b.probes);
  SetCount(o, "reports", b.reports);
  SetCount(o, "reportsIgnored", b.reports_ignored);
  SetCount(o, "getRoutes", s.getRoutes);
  SetCount(o, "toOverload", b.to_overload);
  SetCount(o, "toIdle", b.to_idle);
  SetCount(o, "pulls", b.pulls);
  SetCount(o, "routeUpdates", b.route_updates);
  SetCount(o, "routeUpdatesIgnored", b.route_updates_ignored);
  SetCount(o, "newPullsCapped", b.new_pulls_capped);
  SetCount(o, "emptyRoutesEvicted", b.empty_routes_evicted);
  SetCount(o, "panicPicks", b.panic_picks);
  SetCount(o, "ejectionsCapped", b.ejections_capped);
  SetCount(o, "unknownPolicies", b.unknown_policies);
  SetCount(o, "routes", b.routes);
  SetCount(o, "emptyRoutes", b.empty_routes);
  SetCount(o, "idleNodes", b.idle_nodes);
  SetCount(o, "overloadedNodes", b.overloaded_nodes);
  return o;
}

class AgentServerWrap : public Napi::ObjectWrap<AgentServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AgentServer",
                       {
                           InstanceMethod<&AgentServerWrap::Ports>("ports"),
                           InstanceMethod<&AgentServerWrap::ApplyRoute>("applyRoute"),
                           InstanceMethod<&AgentServerWrap::OnDnsReconnected>("onDnsReconnected"),
                           InstanceMethod<&AgentServerWrap::Reply>("reply"),
                           InstanceMethod<&AgentServerWrap::Stats>("stats"),
                           InstanceMethod<&AgentServerWrap::NodeStats>("nodeStats"),
                           InstanceMethod<&AgentServerWrap::Close>("close"),
                       });
  }

  // new AgentServer(options, onPulls(pairs: Int32Array), onReports(flat: Float64Array),
  //                 onRegisters(frames: { port, ip, peerPort, body }[]))
  explicit AgentServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AgentServerWrap>(info) {
    Napi::Env env = info.Env();
    const agent::AgentOptions options = ReadOptions(info[0]);
    if (!info[1].IsFunction() || !info[2].IsFunction() || !info[3].IsFunction()) {
      Throw(env, "ERR_CONFIG", "AgentServer expects onPulls, onReports and onRegisters functions");
    }
    state_ = std::make_shared<State>();
    state_->env = env;
    state_->onPulls = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "lars-agent-pulls", 0, 1);
    state_->onReports = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "lars-agent-reports", 0, 1);
    state_->onRegisters = Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "lars-agent-registers", 0, 1);
    State* s = state_.get();
    try {
      s->server = std::make_unique<agent::AgentServer>(
          options, [s] { s->notifyPulls(); }, [s] { s->notifyReports(); }, [s] { s->notifyRegisters(); });
    } catch (const std::exception& e) {
      s->onPulls.Release();
      s->onReports.Release();
      s->onRegisters.Release();
      Throw(env, "ERR_LISTEN",
            "cannot bind the agent's UDP ports " + options.ip + ":" + std::to_string(options.basePort) + "-" +
                std::to_string(options.basePort + 2) + ": " + e.what());
    }
    napi_add_env_cleanup_hook(env, &State::OnEnvCleanup, s);
    s->hooked = true;
  }

  ~AgentServerWrap() override {
    if (state_) state_->shutdown();
  }

 private:
  agent::AgentServer* server(const Napi::CallbackInfo& info) {
    if (!state_->server) Throw(info.Env(), "ERR_CLOSED", "the agent server is closed");
    return state_->server.get();
  }

  // ports() -> [base, base + 1, base + 2]
  Napi::Value Ports(const Napi::CallbackInfo& info) {
    agent::AgentServer* srv = server(info);
    Napi::Array a = Napi::Array::New(info.Env(), agent::AgentServer::kPorts);
    for (int i = 0; i < agent::AgentServer::kPorts; ++i) a.Set(static_cast<uint32_t>(i), srv->port(i));
    return a;
  }

  // applyRoute(modid, cmdid, flat: Int32Array, zones: string[], policy?) — hosts packed by packHosts
  // (src/balancer/pack.ts), so a route crosses N-API once, not once per node.
  void ApplyRoute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber()) {
      Throw(env, "ERR_INVALID_INPUT", "applyRoute(modid, cmdid, flat: Int32Array, zones: string[], policy?)");
    }
    std::vector<lb::HostAddr> hosts = HostsOf(env, info[2], info[3]);
    std::optional<lb::RoutePolicy> policy;
    lb::RoutePolicy p;
    if (PolicyOf(info[4], &p)) policy = std::move(p);
    server(info)->applyRoute(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                             std::move(hosts), std::move(policy));
  }

  void OnDnsReconnected(const Napi::CallbackInfo& info) { server(info)->onDnsReconnected(); }

  // reply(portIndex, ip, peerPort, msgid, body: Uint8Array) -> sent
  Napi::Value Reply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsTypedArray()) {
      Throw(env, "ERR_INVALID_INPUT", "reply(portIndex, ip, peerPort, msgid, body: Uint8Array)");
    }
    auto peer = reactor::InetAddress::parse(info[1].As<Napi::String>().Utf8Value(),
                                            static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value()));
    if (!peer) Throw(env, "ERR_INVALID_INPUT", "reply: ip must be an IPv4 dotted quad");
    Napi::Uint8Array body = info[4].As<Napi::Uint8Array>();
    const bool sent = server(info)->reply(info[0].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value(),
                                          body.Data(), body.ByteLength(), *peer);
    return Napi::Boolean::New(env, sent);
  }

  // stats() -> { ports: [PortStats × 3], pullsQueueDropped, reportsQueueDropped }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const agent::AgentStats s = server(info)->stats();
    Napi::Array ports = Napi::Array::New(env, s.ports.size());
    for (size_t i = 0; i < s.ports.size(); ++i) ports.Set(static_cast<uint32_t>(i), PortStatsObject(env, s.ports[i]));
    Napi::Object o = Napi::Object::New(env);
    o.Set("ports", ports);
    SetCount(o, "pullsQueueDropped", s.pullsQueueDropped);
    SetCount(o, "reportsQueueDropped", s.reportsQueueDropped);
    SetCount(o, "registersQueueDropped", s.registersQueueDropped);
    return o;
  }

  // nodeStats(limit) -> [NodeStatsObject × 3]: one packed array per port, at most `limit` nodes in all.
  Napi::Value NodeStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto s = server(info)->nodeStats(LimitOf(info[0]));
    Napi::Array ports = Napi::Array::New(env, s.size());
    for (size_t i = 0; i < s.size(); ++i) ports.Set(static_cast<uint32_t>(i), NodeStatsObject(env, s[i]));
    return ports;
  }

  // close() -> the final reports (FlatReports), or an empty array when already closed.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    std::vector<lb::RouteReport> last;
    if (state_->server) last = state_->server->stop();
    state_->shutdown();
    return FlatReports(info.Env(), last);
  }

  std::shared_ptr<State> state_;
};

}  // namespace

Napi::Object InitAgent(Napi::Env env) {
  Napi::Object m = Napi::Object::New(env);
  m.Set("AgentServer", AgentServerWrap::Define(env));
  return m;
}

}  // namespace lars::binding
