// N-API adapter of lars::balancer::Balancer (native/balancer): a JS class `Balancer`.
// The TypeScript side (src/balancer/index.ts) validates the config before constructing it;
// this file only converts values. Each JS object owns one Balancer, used on the JS thread.
#pragma once

#include <napi.h>

#include <vector>

#include "balancer/balancer.h"

namespace lars::binding {

// { Balancer: class } — see NativeBalancerModule in src/native/types.ts.
Napi::Object InitBalancer(Napi::Env env);

// A config object checked by checkBalancerConfig (src/balancer/balancer.ts) as a Config; also read
// by the agent binding. Throws ERR_CONFIG when a numeric field is not a number; `zone` (a string,
// absent = '') is the agent's zone.
lars::balancer::Config BalancerConfigOf(Napi::Object config);

// Hosts packed by packHosts (src/balancer/pack.ts): `flat` is an Int32Array of (ip, port, weight,
// zone index) per host, `zones` the array of distinct zone names. One crossing per route, never one
// per node. Throws ERR_INVALID_INPUT on a malformed pack.
std::vector<lars::balancer::HostAddr> HostsOf(Napi::Env env, Napi::Value flat, Napi::Value zones);

// A RoutePolicy object ({ name, maxEjectionPercent, ... }, src/balancer/policy.ts), or nothing
// (undefined/null: false, the route runs `lars` with every knob off).
bool PolicyOf(Napi::Value value, lars::balancer::RoutePolicy* out);

// A node limit from JS: a number, negative, NaN or absent = 0.
size_t LimitOf(Napi::Value v);

// { total, values: Float64Array, zones: string[] }: NodeStats as one object (src/balancer NodeStats).
Napi::Object NodeStatsObject(Napi::Env env, const lars::balancer::NodeStats& s);

// [{ modid, cmdid, localNodes, localHealthy, otherNodes, otherHealthy, localShare }] (src/balancer ZoneStatus).
Napi::Array ZoneStatusArray(Napi::Env env, const std::vector<lars::balancer::ZoneStatus>& routes);

// The balancer behind a JS Balancer object, or nullptr when `value` is not one.
// For other bindings (e.g. an agent hot path that hands it to its loop thread, which then owns it).
lars::balancer::Balancer* UnwrapBalancer(Napi::Value value);

}  // namespace lars::binding
