#include "balancer/balancer.h"

namespace lars::balancer {

Balancer::Balancer(const Config& config) : config_(config), rng_(config.seed) {}

void Balancer::QueuePull(Route* r) {
  r->set_state(Route::State::kPulling);
  pulls_.push_back({r->modid(), r->cmdid()});
  ++counters_.pulls;
}

bool Balancer::TakeNewPull(int64_t now) {
  if (window_pulls_ == 0 || now - window_start_ >= 1000) {
    window_start_ = now;
    window_pulls_ = 0;
  }
  if (window_pulls_ >= config_.max_new_pulls_per_s) {
    ++counters_.new_pulls_capped;
    return false;
  }
  ++window_pulls_;
  return true;
}

Route* Balancer::Create(int32_t modid, int32_t cmdid, int64_t now) {
  Route& r = routes_.emplace_back(&config_, modid, cmdid, now);
  index_.emplace(Key(modid, cmdid), std::prev(routes_.end()));
  return &r;
}

Route* Balancer::Use(int32_t modid, int32_t cmdid, int64_t now, bool* pull) {
  auto it = index_.find(Key(modid, cmdid));
  *pull = false;
  if (it == index_.end()) {
    // A client asking for modules that do not exist must not turn the agent into a flood on DNS.
    if (!TakeNewPull(now)) return nullptr;
    Route& r = *Create(modid, cmdid, now);
    QueuePull(&r);
    *pull = true;
    return &r;
  }
  Route* r = &*it->second;
  const bool stale = static_cast<double>(now - r->last_update()) > config_.update_timeout_ms;
  // A NEW route without nodes never got its answer (a pull lost around a reconnect): pull it now.
  if ((r->state() == Route::State::kNew && (r->empty() || stale)) || (r->state() == Route::State::kEmpty && stale)) {
    QueuePull(r);
    *pull = true;
  }
  return r;
}

PickResult Balancer::Pick(int32_t modid, int32_t cmdid, int64_t now, HashKey key) {
  bool pull;
  Route* r = Use(modid, cmdid, now, &pull);
  if (r == nullptr || r->empty()) {
    ++counters_.picks_noexist;
    return {kRetNoExist, 0, 0, pull};
  }
  const Route::Choice c = r->Pick(key, &rng_);
  if (c.retcode != kRetSucc) {
    ++counters_.picks_overload;
    return {c.retcode, 0, 0, pull};
  }
  ++counters_.picks_succ;
  if (c.probe) ++counters_.probes;
  if (c.panic) ++counters_.panic_picks;
  const Route::Node& n = r->nodes()[c.node];
  return {kRetSucc, n.ip, n.port, pull};
}

bool Balancer::Report(int32_t modid, int32_t cmdid, int32_t ip, int32_t port, int32_t retcode, int64_t now,
                      uint32_t usetime_us, Route::Change* changed) {
  auto it = index_.find(Key(modid, cmdid));
  Route::Change change = Route::Change::kNone;
  if (it == index_.end() || !it->second->Report(ip, port, retcode, usetime_us, now, &change)) {
    ++counters_.reports_ignored;
    return false;
  }
  ++counters_.reports;
  if (change == Route::Change::kToOverload) ++counters_.to_overload;
  if (change == Route::Change::kToIdle) ++counters_.to_idle;
  if (change == Route::Change::kCapped) ++counters_.ejections_capped;
  if (changed != nullptr) *changed = change;
  return true;
}

const Route* Balancer::Find(int32_t modid, int32_t cmdid) const {
  auto it = index_.find(Key(modid, cmdid));
  return it == index_.end() ? nullptr : &*it->second;
}

bool Balancer::GetRoute(int32_t modid, int32_t cmdid, int64_t now, std::vector<HostAddr>* hosts) {
  bool pull;
  Route* r = Use(modid, cmdid, now, &pull);
  if (r != nullptr) r->Hosts(hosts);
  return pull;
}

bool Balancer::ApplyRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now,
                          const RoutePolicy* policy) {
  auto it = index_.find(Key(modid, cmdid));
  if (it == index_.end()) {
    ++counters_.route_updates_ignored;
    return false;
  }
  ++counters_.route_updates;
  Route* r = &*it->second;
  Unlist(r);
  bool unknown_policy;
  const std::size_t kept = r->Apply(hosts, policy, now, &unknown_policy);
  if (unknown_policy) ++counters_.unknown_policies;
  if (kept != 0) return true;
  // EMPTY: kept (and subscribed at DNS) so that its use neither pulls nor grows without bound.
  r->set_empty_pos(empty_.insert(empty_.end(), r));
  while (empty_.size() > static_cast<uint64_t>(config_.max_empty_routes)) {
    Erase(empty_.front());
    ++counters_.empty_routes_evicted;
  }
  return true;
}

void Balancer::Unlist(Route* r) {
  if (!r->listed_empty()) return;
  empty_.erase(r->empty_pos());
  r->clear_empty_pos();
}

void Balancer::Erase(Route* r) {
  Unlist(r);
  auto it = index_.find(Key(r->modid(), r->cmdid()));
  routes_.erase(it->second);
  index_.erase(it);
}

bool Balancer::SeedRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now,
                         const RoutePolicy* policy) {
  if (index_.find(Key(modid, cmdid)) == index_.end()) Create(modid, cmdid, now);
  return ApplyRoute(modid, cmdid, hosts, now, policy);
}

std::vector<ModuleId> Balancer::OnDnsReconnected() {
  pulls_.clear();
  for (Route& r : routes_) {
    if (r.state() == Route::State::kPulling) r.set_state(Route::State::kNew);
    pulls_.push_back({r.modid(), r.cmdid()});
    ++counters_.pulls;
  }
  return TakePullRequests();
}

std::vector<ModuleId> Balancer::TakePullRequests() {
  std::vector<ModuleId> out;
  out.swap(pulls_);
  return out;
}

std::vector<RouteReport> Balancer::CollectReports(int64_t now, double interval_ms) {
  std::vector<RouteReport> out;
  for (Route& r : routes_) {
    if (!r.ReportDue(now, interval_ms)) continue;
    RouteReport rep{r.modid(), r.cmdid(), {}};
    r.Results(&rep.results);
    r.MarkReported(now);
    out.push_back(std::move(rep));
  }
  return out;
}

Counters Balancer::counters() const {
  Counters c = counters_;
  c.routes = routes_.size();
  c.empty_routes = empty_.size();
  for (const Route& r : routes_) {
    c.idle_nodes += r.idle_count();
    c.overloaded_nodes += r.overload_count();
  }
  return c;
}

NodeStats Balancer::nodeStats(std::size_t limit) const {
  NodeStats s;
  for (const Route& r : routes_) r.AppendNodeStats(limit, &s);
  return s;
}

}  // namespace lars::balancer
