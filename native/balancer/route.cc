#include "balancer/route.h"

#include <algorithm>
#include <iterator>

namespace lars::balancer {

Route::Route(const Config* config, int32_t modid, int32_t cmdid, int64_t now)
    : config_(config), modid_(modid), cmdid_(cmdid), last_update_(now) {
  chooser_ = MakePolicy(policy_.name, &policy_known_);
}

void Route::PushBack(List* list, int32_t i) {
  Node& n = nodes_[i];
  n.prev = list->tail;
  n.next = kNone;
  if (list->tail == kNone) {
    list->head = i;
  } else {
    nodes_[list->tail].next = i;
  }
  list->tail = i;
  ++list->size;
}

void Route::Unlink(List* list, int32_t i) {
  Node& n = nodes_[i];
  if (n.prev == kNone) {
    list->head = n.next;
  } else {
    nodes_[n.prev].next = n.next;
  }
  if (n.next == kNone) {
    list->tail = n.prev;
  } else {
    nodes_[n.next].prev = n.prev;
  }
  n.prev = n.next = kNone;
  --list->size;
}

void Route::Move(List* from, List* to, int32_t i) {
  Unlink(from, i);
  PushBack(to, i);
  healthy_stale_ = true;
}

int32_t Route::RotateIdle() {
  const int32_t i = idle_.head;
  if (idle_.size > 1) {
    Unlink(&idle_, i);
    PushBack(&idle_, i);
  }
  return i;
}

const std::vector<int32_t>& Route::healthy() {
  if (healthy_stale_) {
    healthy_.clear();
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].overload) healthy_.push_back(static_cast<int32_t>(i));
    }
    healthy_stale_ = false;
  }
  return healthy_;
}

int32_t Route::Find(int32_t ip, int32_t port) const {
  const uint64_t key = Key(ip, port);
  auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(key, INT32_MIN));
  return it != index_.end() && it->first == key ? it->second : kNone;
}

void Route::ToIdle(Node* n, int64_t now) {
  n->vsucc = config_->init_succ_cnt;
  n->verr = 0;
  n->rsucc = n->rerr = 0;
  n->contin_succ = n->contin_err = 0;
  n->overload = false;
  n->idle_ts = now;
  n->usetime_sum_us = 0;
  n->usetime_max_us = n->timed_calls = 0;
  n->outstanding = 0;
}

void Route::ToOverload(Node* n, int64_t now) {
  n->vsucc = 0;
  n->verr = config_->init_err_cnt;
  n->rsucc = n->rerr = 0;
  n->contin_succ = n->contin_err = 0;
  n->overload = true;
  n->overload_ts = now;
  n->usetime_sum_us = 0;
  n->usetime_max_us = n->timed_calls = 0;
  n->outstanding = 0;
}

Route::Change Route::Eject(int32_t i, int64_t now) {
  Node* n = &nodes_[i];
  const uint64_t cap = policy_.max_ejection_percent == 0 ? 100 : policy_.max_ejection_percent;
  if ((overload_.size + 1) * 100 > cap * nodes_.size()) {
    ToIdle(n, now);  // stays in service: a new window
    return Change::kCapped;
  }
  const bool flapping = n->came_back && static_cast<double>(now - n->back_ts) < config_->idle_timeout_ms;
  n->eject_streak = flapping ? n->eject_streak + 1 : 1;
  ToOverload(n, now);
  Move(&idle_, &overload_, i);
  return Change::kToOverload;
}

void Route::Recover(int32_t i, int64_t now) {
  Node* n = &nodes_[i];
  ToIdle(n, now);
  n->came_back = true;
  n->back_ts = now;
  Move(&overload_, &idle_, i);
}

void Route::SetOverloaded(int32_t i, bool overloaded, int64_t now) {
  Node* n = &nodes_[i];
  if (n->overload == overloaded) return;
  if (overloaded) {
    ToOverload(n, now);
    Move(&idle_, &overload_, i);
  } else {
    ToIdle(n, now);
    Move(&overload_, &idle_, i);
  }
}

double Route::OverloadTimeout(const Node& n) const {
  if (policy_.ejection_backoff_max_ms == 0) return config_->overload_timeout_ms;
  return std::min(config_->overload_timeout_ms * static_cast<double>(n.eject_streak),
                  static_cast<double>(policy_.ejection_backoff_max_ms));
}

Route::Choice Route::Pick(const HashKey& key, Prng* rng) {
  const PickInput in{key, rng};
  int32_t i;
  const uint64_t panic = policy_.panic_threshold;
  if (panic > 0 && idle_.size * 100 < panic * nodes_.size()) {
    i = chooser_->Choose(*this, all_, false, in);
    ++nodes_[i].outstanding;
    ++nodes_[i].picks;
    return {kRetSucc, i, false, true};
  }
  bool probe = false;
  if (idle_.size == 0) {
    if (access_cnt_ < config_->probe_num) {
      ++access_cnt_;
      return {kRetOverload, kNone, false, false};
    }
    access_cnt_ = 0;
    probe = true;
  } else if (overload_.size == 0) {
  } else if (access_cnt_ >= config_->probe_num) {
    access_cnt_ = 0;
    probe = true;
  } else {
    ++access_cnt_;
  }
  if (probe) {
    // Overloaded nodes are probed head to tail, whatever the policy.
    i = overload_.head;
    if (overload_.size > 1) {
      Unlink(&overload_, i);
      PushBack(&overload_, i);
    }
  } else {
    i = chooser_->Choose(*this, healthy(), true, in);
  }
  ++nodes_[i].outstanding;
  ++nodes_[i].picks;
  return {kRetSucc, i, probe, false};
}

bool Route::Report(int32_t ip, int32_t port, int32_t retcode, uint32_t usetime_us, int64_t now, Change* change) {
  *change = Change::kNone;
  if (!ValidPort(port)) return false;
  const int32_t i = Find(ip, port);
  if (i == kNone) return false;
  Node* n = &nodes_[i];
  active_ = true;
  const bool ok = retcode == kRetSucc;
  if (ok) {
    ++n->vsucc;
    ++n->rsucc;
    ++n->calls_succ;
    ++n->contin_succ;
    n->contin_err = 0;
  } else {
    ++n->verr;
    ++n->rerr;
    ++n->calls_err;
    ++n->contin_err;
    n->contin_succ = 0;
  }
  if (n->outstanding > 0) --n->outstanding;
  if (usetime_us > 0) {
    n->usetime_sum_us += usetime_us;
    n->usetime_max_us = std::max(n->usetime_max_us, usetime_us);
    ++n->timed_calls;
    n->usetime_total_us += usetime_us;
    ++n->usetime_buckets[UsetimeBucket(usetime_us)];
    chooser_->OnTimedReport(*this, i, usetime_us, now);
  }
  const double total = static_cast<double>(n->vsucc + n->verr);
  if (!n->overload && !ok) {
    if (static_cast<double>(n->verr) / total > config_->err_rate || n->contin_err >= config_->contin_err_limit) {
      *change = Eject(i, now);
      return true;
    }
  } else if (n->overload && ok) {
    if (static_cast<double>(n->vsucc) / total > config_->succ_rate || n->contin_succ >= config_->contin_succ_limit) {
      Recover(i, now);
      *change = Change::kToIdle;
      return true;
    }
  }
  if (!n->overload) {
    if (static_cast<double>(now - n->idle_ts) >= config_->idle_timeout_ms) {
      const int64_t real = n->rsucc + n->rerr;
      if (real > 0 && static_cast<double>(n->rerr) / static_cast<double>(real) >= config_->window_err_rate) {
        *change = Eject(i, now);
      } else {
        ToIdle(n, now);  // a new window; the node stays where it is in the idle list
      }
    }
  } else if (static_cast<double>(now - n->overload_ts) >= OverloadTimeout(*n)) {
    Recover(i, now);
    *change = Change::kToIdle;
  }
  return true;
}

std::size_t Route::Apply(const std::vector<HostAddr>& hosts, const RoutePolicy* policy, int64_t now,
                         bool* unknown_policy) {
  RoutePolicy next = policy != nullptr ? *policy : RoutePolicy{};
  if (next.name != policy_.name) chooser_ = MakePolicy(next.name, &policy_known_);
  *unknown_policy = !policy_known_;
  policy_ = std::move(next);

  // The first occurrence of each valid address, by key.
  std::vector<std::pair<uint64_t, int32_t>> wanted;
  wanted.reserve(hosts.size());
  for (std::size_t j = 0; j < hosts.size(); ++j) {
    if (ValidPort(hosts[j].port)) wanted.emplace_back(Key(hosts[j].ip, hosts[j].port), static_cast<int32_t>(j));
  }
  std::stable_sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  wanted.erase(std::unique(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
               wanted.end());
  auto wanted_at = [&](uint64_t key) -> int32_t {
    auto it = std::lower_bound(wanted.begin(), wanted.end(), std::make_pair(key, INT32_MIN));
    return it != wanted.end() && it->first == key ? it->second : kNone;
  };
  auto weight_of = [](const HostAddr& h) { return h.weight <= 0 ? 100 : std::min(h.weight, 10000); };

  // Staying nodes keep their state and join order; gone nodes leave every structure.
  std::vector<Node> kept;
  std::vector<std::string> kept_zones;
  std::vector<int32_t> remap(nodes_.size(), kNone);
  kept.reserve(wanted.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const int32_t j = wanted_at(Key(nodes_[i].ip, nodes_[i].port));
    if (j == kNone) continue;
    remap[i] = static_cast<int32_t>(kept.size());
    kept.push_back(nodes_[i]);
    kept.back().weight = weight_of(hosts[j]);
    kept_zones.push_back(hosts[j].zone);
  }
  std::vector<int32_t> idle_order, overload_order;
  for (int32_t i = idle_.head; i != kNone; i = nodes_[i].next) {
    if (remap[i] != kNone) idle_order.push_back(remap[i]);
  }
  for (int32_t i = overload_.head; i != kNone; i = nodes_[i].next) {
    if (remap[i] != kNone) overload_order.push_back(remap[i]);
  }
  for (std::size_t j = 0; j < hosts.size(); ++j) {
    const HostAddr& h = hosts[j];
    if (!ValidPort(h.port) || wanted_at(Key(h.ip, h.port)) != static_cast<int32_t>(j)) continue;  // a duplicate
    if (Find(h.ip, h.port) != kNone) continue;  // staying
    Node n;
    n.ip = h.ip;
    n.port = h.port;
    n.weight = weight_of(h);
    ToIdle(&n, now);
    idle_order.push_back(static_cast<int32_t>(kept.size()));
    kept.push_back(n);
    kept_zones.push_back(h.zone);
  }
  nodes_.swap(kept);
  zones_.swap(kept_zones);
  idle_ = List{};
  overload_ = List{};
  for (int32_t i : idle_order) PushBack(&idle_, i);
  for (int32_t i : overload_order) PushBack(&overload_, i);
  index_.clear();
  all_.clear();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    index_.emplace_back(Key(nodes_[i].ip, nodes_[i].port), static_cast<int32_t>(i));
    all_.push_back(static_cast<int32_t>(i));
  }
  std::sort(index_.begin(), index_.end());
  healthy_stale_ = true;
  chooser_->OnHostsChanged(*this);

  last_update_ = now;
  state_ = nodes_.empty() ? State::kEmpty : State::kNew;
  // An EMPTY route has no node to report on: activity of the nodes just removed is dropped with them.
  if (nodes_.empty()) active_ = false;
  return nodes_.size();
}

void Route::Hosts(std::vector<HostAddr>* out) const {
  out->reserve(out->size() + nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) out->push_back({nodes_[i].ip, nodes_[i].port, nodes_[i].weight, zones_[i]});
}

void Route::Results(std::vector<NodeResult>* out) const {
  out->reserve(out->size() + nodes_.size());
  for (const List* list : {&idle_, &overload_}) {
    for (int32_t i = list->head; i != kNone; i = nodes_[i].next) {
      const Node& n = nodes_[i];
      out->push_back({n.ip, n.port, n.rsucc, n.rerr, n.overload, n.usetime_sum_us, n.usetime_max_us, n.timed_calls});
    }
  }
}

void Route::AppendNodeStats(std::size_t limit, NodeStats* out) const {
  out->total += nodes_.size();
  for (std::size_t i = 0; i < nodes_.size() && out->zones.size() < limit; ++i) {
    const Node& n = nodes_[i];
    const double fields[kStatBuckets] = {static_cast<double>(modid_), static_cast<double>(cmdid_), static_cast<double>(n.ip),
                                         static_cast<double>(n.port), n.overload ? 1.0 : 0.0, static_cast<double>(n.picks),
                                         static_cast<double>(n.calls_succ), static_cast<double>(n.calls_err),
                                         static_cast<double>(n.usetime_total_us)};
    out->values.insert(out->values.end(), std::begin(fields), std::end(fields));
    for (uint64_t b : n.usetime_buckets) out->values.push_back(static_cast<double>(b));
    out->zones.push_back(zones_[i]);
  }
}

bool Route::ReportDue(int64_t now, double interval_ms) const {
  return active_ && (!reported_ || static_cast<double>(now - last_report_) >= interval_ms);
}

void Route::MarkReported(int64_t now) {
  active_ = false;
  reported_ = true;
  last_report_ = now;
}

}  // namespace lars::balancer
