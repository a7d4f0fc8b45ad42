#include "binding/balancer_binding.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "binding/errors.h"

namespace lars::binding {
namespace {

namespace lb = lars::balancer;

// Marks objects created by BalancerWrap so UnwrapBalancer can trust them.
constexpr napi_type_tag kBalancerTag = {0x6c617273'62616c61ULL, 0x6e636572'00000001ULL};

[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& msg) { ThrowLarsError(env, code, msg); }

double NumberField(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) Throw(o.Env(), "ERR_CONFIG", std::string("balancer config: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int32_t I32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
int64_t I64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

Napi::Array Modules(Napi::Env env, const std::vector<lb::ModuleId>& mods) {
  Napi::Array a = Napi::Array::New(env, mods.size());
  for (size_t i = 0; i < mods.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("modid", mods[i].modid);
    o.Set("cmdid", mods[i].cmdid);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

class BalancerWrap : public Napi::ObjectWrap<BalancerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Balancer",
                       {
                           InstanceMethod<&BalancerWrap::Pick>("pick"),
                           InstanceMethod<&BalancerWrap::Report>("report"),
                           InstanceMethod<&BalancerWrap::GetRoute>("getRoute"),
                           InstanceMethod<&BalancerWrap::ApplyRoute>("applyRoutePacked"),
                           InstanceMethod<&BalancerWrap::SeedRoute>("seedRoutePacked"),
                           InstanceMethod<&BalancerWrap::OnDnsReconnected>("onDnsReconnected"),
                           InstanceMethod<&BalancerWrap::TakePullRequests>("takePullRequests"),
                           InstanceMethod<&BalancerWrap::CollectReports>("collectReports"),
                           InstanceMethod<&BalancerWrap::Counters>("counters"),
                           InstanceMethod<&BalancerWrap::NodeStats>("nodeStats"),
                           InstanceMethod<&BalancerWrap::ZoneStatus>("zoneStatus"),
                       });
  }

  explicit BalancerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BalancerWrap>(info) {
    if (info.Length() < 1 || !info[0].IsObject()) Throw(info.Env(), "ERR_CONFIG", "Balancer: expected a config object");
    const lb::Config cfg = BalancerConfigOf(info[0].As<Napi::Object>());
    balancer_ = std::make_unique<lb::Balancer>(cfg);
    info.This().As<Napi::Object>().TypeTag(&kBalancerTag);
  }

  lb::Balancer* balancer() { return balancer_.get(); }

 private:
  // pick(modid, cmdid, now, key?: Uint8Array) -> { retcode, ip, port, pull }
  Napi::Value Pick(const Napi::CallbackInfo& info) {
    lb::HashKey key;
    if (info.Length() > 3 && info[3].IsTypedArray()) {
      Napi::Uint8Array k = info[3].As<Napi::Uint8Array>();
      key = {k.Data(), k.ByteLength()};
    }
    const lb::PickResult r = balancer_->Pick(I32(info, 0), I32(info, 1), I64(info, 2), key);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("retcode", r.retcode);
    o.Set("ip", r.ip);
    o.Set("port", r.port);
    o.Set("pull", r.pull);
    return o;
  }

  // report(modid, cmdid, ip, port, retcode, now, usetimeUs?) -> boolean (false: ignored)
  Napi::Value Report(const Napi::CallbackInfo& info) {
    const uint32_t usetime = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Uint32Value() : 0;
    const bool ok =
        balancer_->Report(I32(info, 0), I32(info, 1), I32(info, 2), I32(info, 3), I32(info, 4), I64(info, 5), usetime);
    return Napi::Boolean::New(info.Env(), ok);
  }

  // getRoute(modid, cmdid, now) -> { hosts: [{ ip, port }], pull }
  Napi::Value GetRoute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<lb::HostAddr> hosts;
    const bool pull = balancer_->GetRoute(I32(info, 0), I32(info, 1), I64(info, 2), &hosts);
    Napi::Array a = Napi::Array::New(env, hosts.size());
    for (size_t i = 0; i < hosts.size(); ++i) {
      Napi::Object h = Napi::Object::New(env);
      h.Set("ip", hosts[i].ip);
      h.Set("port", hosts[i].port);
      a.Set(static_cast<uint32_t>(i), h);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("hosts", a);
    o.Set("pull", pull);
    return o;
  }

  // applyRoutePacked(modid, cmdid, flat: Int32Array, zones: string[], now, policy?) -> boolean
  // (false: unknown route, ignored). The hosts come packed by packHosts (src/balancer/pack.ts).
  Napi::Value ApplyRoute(const Napi::CallbackInfo& info) { return Update(info, &lb::Balancer::ApplyRoute); }

  // seedRoutePacked(modid, cmdid, flat: Int32Array, zones: string[], now, policy?) -> boolean
  Napi::Value SeedRoute(const Napi::CallbackInfo& info) { return Update(info, &lb::Balancer::SeedRoute); }

  using RouteUpdate = bool (lb::Balancer::*)(int32_t, int32_t, const std::vector<lb::HostAddr>&, int64_t,
                                             const lb::RoutePolicy*);
  Napi::Value Update(const Napi::CallbackInfo& info, RouteUpdate update) {
    Napi::Env env = info.Env();
    const std::vector<lb::HostAddr> hosts = HostsOf(env, info[2], info[3]);
    lb::RoutePolicy policy;
    const bool has_policy = PolicyOf(info[5], &policy);
    return Napi::Boolean::New(
        env, ((*balancer_).*update)(I32(info, 0), I32(info, 1), hosts, I64(info, 4), has_policy ? &policy : nullptr));
  }

  Napi::Value OnDnsReconnected(const Napi::CallbackInfo& info) {
    return Modules(info.Env(), balancer_->OnDnsReconnected());
  }

  Napi::Value TakePullRequests(const Napi::CallbackInfo& info) {
    return Modules(info.Env(), balancer_->TakePullRequests());
  }

  // collectReports(now, intervalMs) -> [{ modid, cmdid, results: [{ ip, port, succ, err, overload }] }]
  Napi::Value CollectReports(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<lb::RouteReport> reps =
        balancer_->CollectReports(I64(info, 0), info[1].As<Napi::Number>().DoubleValue());
    Napi::Array a = Napi::Array::New(env, reps.size());
    for (size_t i = 0; i < reps.size(); ++i) {
      Napi::Array results = Napi::Array::New(env, reps[i].results.size());
      for (size_t j = 0; j < reps[i].results.size(); ++j) {
        const lb::NodeResult& n = reps[i].results[j];
        Napi::Object r = Napi::Object::New(env);
        r.Set("ip", n.ip);
        r.Set("port", n.port);
        r.Set("succ", Napi::Number::New(env, static_cast<double>(n.succ)));
        r.Set("err", Napi::Number::New(env, static_cast<double>(n.err)));
        r.Set("overload", n.overload);
        r.Set("usetimeSumUs", Napi::Number::New(env, static_cast<double>(n.usetime_sum_us)));
        r.Set("usetimeMaxUs", Napi::Number::New(env, n.usetime_max_us));
        r.Set("timedCalls", Napi::Number::New(env, n.timed_calls));
        results.Set(static_cast<uint32_t>(j), r);
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("modid", reps[i].modid);
      o.Set("cmdid", reps[i].cmdid);
      o.Set("results", results);
      a.Set(static_cast<uint32_t>(i), o);
    }
    return a;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const lb::Counters c = balancer_->counters();
    Napi::Object o = Napi::Object::New(env);
    auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
    set("picksSucc", c.picks_succ);
    set("picksOverload", c.picks_overload);
    set("picksNoexist", c.picks_noexist);
    set("probes", c.probes);
    set("reports", c.reports);
    set("reportsIgnored", c.reports_ignored);
    set("toOverload", c.to_overload);
    set("toIdle", c.to_idle);
    set("pulls", c.pulls);
    set("routeUpdates", c.route_updates);
    set("routeUpdatesIgnored", c.route_updates_ignored);
    set("newPullsCapped", c.new_pulls_capped);
    set("emptyRoutesEvicted", c.empty_routes_evicted);
    set("panicPicks", c.panic_picks);
    set("ejectionsCapped", c.ejections_capped);
    set("unknownPolicies", c.unknown_policies);
    set("zonePicksLocal", c.zone_picks_local);
    set("zonePicksOther", c.zone_picks_other);
    set("routes", c.routes);
    set("emptyRoutes", c.empty_routes);
    set("idleNodes", c.idle_nodes);
    set("overloadedNodes", c.overloaded_nodes);
    return o;
  }

  // nodeStats(limit) -> NodeStatsObject
  Napi::Value NodeStats(const Napi::CallbackInfo& info) {
    return NodeStatsObject(info.Env(), balancer_->nodeStats(LimitOf(info[0])));
  }

  // zoneStatus(limit) -> ZoneStatusArray
  Napi::Value ZoneStatus(const Napi::CallbackInfo& info) {
    return ZoneStatusArray(info.Env(), balancer_->zoneStatus(LimitOf(info[0])));
  }

  std::unique_ptr<lb::Balancer> balancer_;
};

}  // namespace

size_t LimitOf(Napi::Value v) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
  return d > 0 ? static_cast<size_t>(std::min(d, 9.0e15)) : 0;
}

Napi::Object NodeStatsObject(Napi::Env env, const lb::NodeStats& s) {
  Napi::Float64Array values = Napi::Float64Array::New(env, s.values.size());
  std::copy(s.values.begin(), s.values.end(), values.Data());
  Napi::Array zones = Napi::Array::New(env, s.zones.size());
  for (size_t i = 0; i < s.zones.size(); ++i) zones.Set(static_cast<uint32_t>(i), s.zones[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", Napi::Number::New(env, static_cast<double>(s.total)));
  o.Set("values", values);
  o.Set("zones", zones);
  return o;
}

Napi::Array ZoneStatusArray(Napi::Env env, const std::vector<lb::ZoneStatus>& routes) {
  Napi::Array a = Napi::Array::New(env, routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const lb::ZoneStatus& z = routes[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("modid", z.modid);
    o.Set("cmdid", z.cmdid);
    o.Set("localNodes", z.local_nodes);
    o.Set("localHealthy", z.local_healthy);
    o.Set("otherNodes", z.other_nodes);
    o.Set("otherHealthy", z.other_healthy);
    o.Set("localShare", z.local_share);
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

lb::Config BalancerConfigOf(Napi::Object c) {
  lb::Config cfg;
  cfg.probe_num = static_cast<int64_t>(NumberField(c, "probeNum"));
  cfg.init_succ_cnt = static_cast<int64_t>(NumberField(c, "initSuccCnt"));
  cfg.init_err_cnt = static_cast<int64_t>(NumberField(c, "initErrCnt"));
  cfg.err_rate = NumberField(c, "errRate");
  cfg.succ_rate = NumberField(c, "succRate");
  cfg.contin_err_limit = static_cast<int64_t>(NumberField(c, "continErrLimit"));
  cfg.contin_succ_limit = static_cast<int64_t>(NumberField(c, "continSuccLimit"));
  cfg.window_err_rate = NumberField(c, "windowErrRate");
  cfg.idle_timeout_ms = NumberField(c, "idleTimeoutMs");
  cfg.overload_timeout_ms = NumberField(c, "overloadTimeoutMs");
  cfg.update_timeout_ms = NumberField(c, "updateTimeoutMs");
  cfg.max_empty_routes = static_cast<int64_t>(NumberField(c, "maxEmptyRoutes"));
  cfg.max_new_pulls_per_s = static_cast<int64_t>(NumberField(c, "maxNewPullsPerS"));
  cfg.seed = static_cast<uint32_t>(NumberField(c, "seed"));
  const Napi::Value zone = c.Get("zone");
  if (zone.IsString()) cfg.zone = zone.As<Napi::String>().Utf8Value();
  return cfg;
}

std::vector<lb::HostAddr> HostsOf(Napi::Env env, Napi::Value flat, Napi::Value zones) {
  constexpr const char* kUsage = "hosts must come from packHosts: an Int32Array of (ip, port, weight, zone) and the zones";
  if (!flat.IsTypedArray() || flat.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !zones.IsArray()) {
    Throw(env, "ERR_INVALID_INPUT", kUsage);
  }
  Napi::Int32Array a = flat.As<Napi::Int32Array>();
  Napi::Array z = zones.As<Napi::Array>();
  std::vector<std::string> names(z.Length());
  for (uint32_t i = 0; i < z.Length(); ++i) {
    Napi::Value v = z.Get(i);
    if (!v.IsString()) Throw(env, "ERR_INVALID_INPUT", kUsage);
    names[i] = v.As<Napi::String>().Utf8Value();
  }
  if (a.ElementLength() % 4 != 0) Throw(env, "ERR_INVALID_INPUT", kUsage);
  std::vector<lb::HostAddr> hosts;
  hosts.reserve(a.ElementLength() / 4);
  for (size_t i = 0; i < a.ElementLength(); i += 4) {
    const int32_t zone = a[i + 3];
    if (zone < -1 || zone >= static_cast<int32_t>(names.size())) Throw(env, "ERR_INVALID_INPUT", kUsage);
    hosts.push_back({a[i], a[i + 1], a[i + 2], zone < 0 ? std::string() : names[static_cast<size_t>(zone)]});
  }
  return hosts;
}

bool PolicyOf(Napi::Value value, lb::RoutePolicy* out) {
  if (!value.IsObject()) return false;
  Napi::Object o = value.As<Napi::Object>();
  Napi::Value name = o.Get("name");
  out->name = name.IsString() ? name.As<Napi::String>().Utf8Value() : std::string();
  auto u32 = [&](const char* key) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0u;
  };
  out->max_ejection_percent = u32("maxEjectionPercent");
  out->panic_threshold = u32("panicThreshold");
  out->ejection_backoff_max_ms = u32("ejectionBackoffMaxMs");
  out->zone_overprovision = u32("zoneOverprovision");
  out->ring_size = u32("ringSize");
  return true;
}

Napi::Object InitBalancer(Napi::Env env) {
  Napi::Object m = Napi::Object::New(env);
  m.Set("Balancer", BalancerWrap::Define(env));
  return m;
}

lars::balancer::Balancer* UnwrapBalancer(Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object o = value.As<Napi::Object>();
  if (!o.CheckTypeTag(&kBalancerTag)) return nullptr;
  return BalancerWrap::Unwrap(o)->balancer();
}

}  // namespace lars::binding
