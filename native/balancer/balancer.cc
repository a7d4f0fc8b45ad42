#include "balancer/balancer.h"

namespace lars::balancer {

Balancer::Balancer(const Config& config) : config_(config) {}

void Balancer::QueuePull(Route* r) {
  r->set_state(Route::State::kPulling);
  pulls_.push_back({r->modid(), r->cmdid()});
  ++counters_.pulls;
}

Route* Balancer::Create(int32_t modid, int32_t cmdid, int64_t now) {
  Route& r = routes_.emplace_back(&config_, modid, cmdid, now);
  index_.emplace(Key(modid, cmdid), std::prev(routes_.end()));
  return &r;
}

Route* Balancer::Use(int32_t modid, int32_t cmdid, int64_t now, bool* pull) {
  auto it = index_.find(Key(modid, cmdid));
  if (it == index_.end()) {
    Route& r = *Create(modid, cmdid, now);
    QueuePull(&r);
    *pull = true;
    return &r;
  }
  Route* r = &*it->second;
  *pull = false;
  // An empty NEW route cannot answer and would wait forever: pull it too (a reference defect).
  if (r->state() == Route::State::kNew &&
      (r->empty() || static_cast<double>(now - r->last_update()) > config_.update_timeout_ms)) {
    QueuePull(r);
    *pull = true;
  }
  return r;
}

PickResult Balancer::Pick(int32_t modid, int32_t cmdid, int64_t now) {
  bool pull;
  Route* r = Use(modid, cmdid, now, &pull);
  if (r->empty()) {
    ++counters_.picks_noexist;
    return {kRetNoExist, 0, 0, pull};
  }
  const Route::Choice c = r->Pick();
  if (c.retcode != kRetSucc) {
    ++counters_.picks_overload;
    return {c.retcode, 0, 0, pull};
  }
  ++counters_.picks_succ;
  if (c.probe) ++counters_.probes;
  return {kRetSucc, c.node->ip, c.node->port, pull};
}

bool Balancer::Report(int32_t modid, int32_t cmdid, int32_t ip, int32_t port, int32_t retcode, int64_t now) {
  auto it = index_.find(Key(modid, cmdid));
  Route::Change change;
  if (it == index_.end() || !it->second->Report(ip, port, retcode, now, &change)) {
    ++counters_.reports_ignored;
    return false;
  }
  ++counters_.reports;
  if (change == Route::Change::kToOverload) ++counters_.to_overload;
  if (change == Route::Change::kToIdle) ++counters_.to_idle;
  return true;
}

bool Balancer::GetRoute(int32_t modid, int32_t cmdid, int64_t now, std::vector<HostAddr>* hosts) {
  bool pull;
  Route* r = Use(modid, cmdid, now, &pull);
  r->Hosts(hosts);
  return pull;
}

bool Balancer::ApplyRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now) {
  auto it = index_.find(Key(modid, cmdid));
  if (it == index_.end()) {
    ++counters_.route_updates_ignored;
    return false;
  }
  ++counters_.route_updates;
  if (it->second->Apply(hosts, now) == 0) {
    routes_.erase(it->second);
    index_.erase(it);
  }
  return true;
}

bool Balancer::SeedRoute(int32_t modid, int32_t cmdid, const std::vector<HostAddr>& hosts, int64_t now) {
  if (index_.find(Key(modid, cmdid)) == index_.end()) Create(modid, cmdid, now);
  return ApplyRoute(modid, cmdid, hosts, now);
}

std::vector<ModuleId> Balancer::OnDnsReconnected() {
  pulls_.clear();
  std::vector<ModuleId> all;
  all.reserve(routes_.size());
  for (Route& r : routes_) {
    QueuePull(&r);
  }
  all.swap(pulls_);
  return all;
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
  for (const Route& r : routes_) {
    c.idle_nodes += r.idle_count();
    c.overloaded_nodes += r.overload_count();
  }
  return c;
}

}  // namespace lars::balancer
