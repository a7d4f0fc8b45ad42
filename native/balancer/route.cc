#include "balancer/route.h"

#include <unordered_set>

namespace lars::balancer {

Route::Route(const Config* config, int32_t modid, int32_t cmdid, int64_t now)
    : config_(config), modid_(modid), cmdid_(cmdid), last_update_(now) {}

void Route::ToIdle(Node* n, int64_t now) {
  n->vsucc = config_->init_succ_cnt;
  n->verr = 0;
  n->rsucc = n->rerr = 0;
  n->contin_succ = n->contin_err = 0;
  n->overload = false;
  n->idle_ts = now;
}

void Route::ToOverload(Node* n, int64_t now) {
  n->vsucc = 0;
  n->verr = config_->init_err_cnt;
  n->rsucc = n->rerr = 0;
  n->contin_succ = n->contin_err = 0;
  n->overload = true;
  n->overload_ts = now;
}

Route::Choice Route::Pick() {
  std::list<Node*>* from;
  bool probe = false;
  if (idle_.empty()) {
    if (access_cnt_ < config_->probe_num) {
      ++access_cnt_;
      return {kRetOverload, nullptr, false};
    }
    access_cnt_ = 0;
    from = &overload_;
    probe = true;
  } else if (overload_.empty()) {
    from = &idle_;
  } else if (access_cnt_ >= config_->probe_num) {
    access_cnt_ = 0;
    from = &overload_;
    probe = true;
  } else {
    ++access_cnt_;
    from = &idle_;
  }
  // Head to tail: round robin without allocating.
  from->splice(from->end(), *from, from->begin());
  return {kRetSucc, from->back(), probe};
}

bool Route::Report(int32_t ip, int32_t port, int32_t retcode, int64_t now, Change* change) {
  *change = Change::kNone;
  if (!ValidPort(port)) return false;
  auto it = index_.find(Key(ip, port));
  if (it == index_.end()) return false;
  Node* n = &*it->second;
  active_ = true;
  const bool ok = retcode == kRetSucc;
  if (ok) {
    ++n->vsucc;
    ++n->rsucc;
    ++n->contin_succ;
    n->contin_err = 0;
  } else {
    ++n->verr;
    ++n->rerr;
    ++n->contin_err;
    n->contin_succ = 0;
  }
  const double total = static_cast<double>(n->vsucc + n->verr);
  if (!n->overload && !ok) {
    if (static_cast<double>(n->verr) / total > config_->err_rate || n->contin_err >= config_->contin_err_limit) {
      ToOverload(n, now);
      overload_.splice(overload_.end(), idle_, n->pos);
      *change = Change::kToOverload;
      return true;
    }
  } else if (n->overload && ok) {
    if (static_cast<double>(n->vsucc) / total > config_->succ_rate || n->contin_succ >= config_->contin_succ_limit) {
      ToIdle(n, now);
      idle_.splice(idle_.end(), overload_, n->pos);
      *change = Change::kToIdle;
      return true;
    }
  }
  if (!n->overload) {
    if (static_cast<double>(now - n->idle_ts) >= config_->idle_timeout_ms) {
      const int64_t real = n->rsucc + n->rerr;
      if (real > 0 && static_cast<double>(n->rerr) / static_cast<double>(real) >= config_->window_err_rate) {
        ToOverload(n, now);
        overload_.splice(overload_.end(), idle_, n->pos);
        *change = Change::kToOverload;
      } else {
        ToIdle(n, now);  // a new window; the node stays where it is in the idle list
      }
    }
  } else if (static_cast<double>(now - n->overload_ts) >= config_->overload_timeout_ms) {
    ToIdle(n, now);
    idle_.splice(idle_.end(), overload_, n->pos);
    *change = Change::kToIdle;
  }
  return true;
}

std::size_t Route::Apply(const std::vector<HostAddr>& hosts, int64_t now) {
  std::unordered_set<uint64_t> wanted;
  wanted.reserve(hosts.size());
  for (const HostAddr& h : hosts) {
    if (ValidPort(h.port)) wanted.insert(Key(h.ip, h.port));
  }
  // Gone nodes leave every structure: their list, the index and the node storage.
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    const uint64_t key = Key(it->ip, it->port);
    if (wanted.count(key) != 0) {
      ++it;
      continue;
    }
    (it->overload ? overload_ : idle_).erase(it->pos);
    index_.erase(key);
    it = nodes_.erase(it);
  }
  for (const HostAddr& h : hosts) {
    if (!ValidPort(h.port)) continue;
    const uint64_t key = Key(h.ip, h.port);
    if (index_.count(key) != 0) continue;  // staying node, or a duplicate in this set
    Node& n = nodes_.emplace_back();
    n.ip = h.ip;
    n.port = h.port;
    ToIdle(&n, now);
    n.pos = idle_.insert(idle_.end(), &n);
    index_.emplace(key, std::prev(nodes_.end()));
  }
  last_update_ = now;
  state_ = nodes_.empty() ? State::kEmpty : State::kNew;
  // An EMPTY route has no node to report on: activity of the nodes just removed is dropped with them.
  if (nodes_.empty()) active_ = false;
  return nodes_.size();
}

void Route::Hosts(std::vector<HostAddr>* out) const {
  out->reserve(out->size() + nodes_.size());
  for (const Node& n : nodes_) out->push_back({n.ip, n.port});
}

void Route::Results(std::vector<NodeResult>* out) const {
  out->reserve(out->size() + nodes_.size());
  for (const Node* n : idle_) out->push_back({n->ip, n->port, n->rsucc, n->rerr, false});
  for (const Node* n : overload_) out->push_back({n->ip, n->port, n->rsucc, n->rerr, true});
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
