#include "impl/dst/dst_impl.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "impl/dst/rcu_collector.h"
#include "impl/dst/timer_collector.h"
#include "impl/dst/worker_collector.h"

namespace nv::dst {

using trace::Event;
using trace::op_id;

std::optional<Design> design_by_name(std::string_view name) {
  for (size_t i = 0; i < kDesignNames.size(); ++i)
    if (kDesignNames[i] == name) return Design(i);
  return std::nullopt;
}

namespace {

std::unique_ptr<Collector> make_collector(Design design, MutantSet mutants) {
  switch (design) {
    case Design::kTimer:
      return std::make_unique<TimerCollector>();
    case Design::kRcu:
      return std::make_unique<RcuCollector>();
    case Design::kWorker:
      break;
  }
  return std::make_unique<WorkerCollector>(mutants);
}

}  // namespace

DstImpl::DstImpl(netns::PernetHost& host, Design design, MutantSet mutants)
    : collector_(make_collector(design, mutants)) {
  blackhole_.name = std::string(kBlackhole);
  host.register_netdevice_notifier(this);
}

DstImpl::~DstImpl() {
  collector_.reset();
}

void DstImpl::alloc(const trace::Op& op, std::vector<Event>& out) {
  const std::string& name = op.name(fields::kAllocDst);
  const std::string& dev = op.name(fields::kAllocDev);
  std::lock_guard cache(cache_lock_);
  auto d = devices_.find(dev);
  if (d == devices_.end()) {
    out.push_back(alloc_failed_event(name, dev, "no-device"));
    return;
  }
  if (cache_.count(name)) {
    out.push_back(alloc_failed_event(name, dev, "exists"));
    return;
  }
  auto e = std::make_unique<DstEntry>();
  e->label = entry_label(name, ++generations_[name]);
  e->seq = next_seq_++;
  e->dev = d->second;
  e->dev->refcnt.fetch_add(1, std::memory_order_relaxed);  // dev_hold
  cache_[name] = e.get();
  store_.push_back(std::move(e));
}

// dst_hold: the route cache's lookup takes the reference under its lock.
void DstImpl::hold(const trace::Op& op) {
  const std::string& ref = op.name(fields::kHoldRef);
  std::lock_guard cache(cache_lock_);
  auto it = cache_.find(op.name(fields::kHoldDst));
  if (it == cache_.end()) {
    refs_.erase(ref);
    return;
  }
  it->second->count.inc();
  refs_[ref] = it->second;
}

void DstImpl::put(const trace::Op& op) {
  DstEntry* e;
  {
    std::lock_guard cache(cache_lock_);
    auto it = refs_.find(op.name(fields::kPutRef));
    if (it == refs_.end()) return;
    e = it->second;
    refs_.erase(it);
  }
  if (e->destroyed.load(std::memory_order_relaxed))
    sched::fail("dst: put on a destroyed entry " + e->label + "; use-after-free");
  collector_->release(e);
}

// dst_free: unhashed and handed to the collector with the cache lock held.
void DstImpl::free(const trace::Op& op) {
  std::lock_guard cache(cache_lock_);
  auto it = cache_.find(op.name(fields::kFreeDst));
  if (it == cache_.end()) return;
  DstEntry* e = it->second;
  cache_.erase(it);
  e->obsolete = true;
  collector_->free(e);
}

// dst_dev_event: the cache (the route cache's flush), then the collector.
void DstImpl::netdev_event(netns::NetdevEvent event, std::string_view name, std::vector<Event>&) {
  NetDevice* dev;
  {
    std::lock_guard cache(cache_lock_);
    if (event == netns::NetdevEvent::kRegister) {
      all_devices_.push_back(std::make_unique<NetDevice>());
      all_devices_.back()->name = std::string(name);
      devices_[std::string(name)] = all_devices_.back().get();
      return;
    }
    auto it = devices_.find(std::string(name));
    if (it == devices_.end()) return;
    dev = it->second;
    if (event == netns::NetdevEvent::kUnregister) {
      dev->registered = false;
      devices_.erase(it);
    }
    for (auto& [n, e] : cache_) dst_ifdown(e, dev, &blackhole_);
  }
  collector_->ifdown(dev, &blackhole_);
}

// netdev_wait_allrefs's report: the entries that still point at the
// unregistered device, once queued destructions have run.
std::vector<std::string> DstImpl::holders(std::string_view name) const {
  collector_->barrier();
  std::vector<std::string> out;
  // The device's refcnt says whether anything holds it; only then are the
  // holders looked for, for the report.
  bool held_at_all = false;
  {
    std::lock_guard cache(cache_lock_);
    for (const auto& d : all_devices_)
      held_at_all |=
          !d->registered && d->name == name && d->refcnt.load(std::memory_order_relaxed) != 0;
  }
  if (!held_at_all) return out;
  auto held = [&](const DstEntry* e) {
    if (!e->destroyed.load(std::memory_order_relaxed) && !e->dev->registered &&
        e->dev->name == name)
      out.push_back(e->label);
  };
  std::lock_guard cache(cache_lock_);
  for (const auto& e : store_) held(e.get());
  std::sort(out.begin(), out.end());
  return out;
}

bool DstImpl::is_overdue(const DstEntry& e, uint64_t now) {
  return e.count.read() == 0 && e.unreferenced_at != UINT64_MAX &&
         now - e.unreferenced_at > kGcDeadlineMs;
}

void DstImpl::audit() {
  const uint64_t now = sched::now_ms();
  collector_->for_each([&](DstEntry* e) {
    if (e->count.read() != 0) return;
    if (e->unreferenced_at == UINT64_MAX) e->unreferenced_at = now;
    if (!e->overdue && is_overdue(*e, now)) {
      e->overdue = true;
      ++overdue_;
    }
  });
#ifndef NDEBUG
  if (auto v = find_invariant_violation()) {
    std::fprintf(stderr, "netverify: DstImpl invariant broken: %s\n%s", v->c_str(),
                 describe().c_str());
    std::abort();
  }
#endif
}

void DstImpl::apply(const trace::Op& op, std::vector<Event>& out) {
  // Between operations, with nothing running (test mode, the scheduler's
  // own context): the self-checks.
  if (sched::Scheduler* s = sched::current_scheduler(); s && !s->in_thread()) audit();
  switch (op.spec->id) {
    case op_id("dst alloc"):
      alloc(op, out);
      break;
    case op_id("dst hold"):
      hold(op);
      break;
    case op_id("dst put"):
      put(op);
      break;
    case op_id("dst free"):
      free(op);
      break;
  }
}

// Read where nothing runs (the runner's quiescent points), without locks:
// the cached entries and the freed ones not yet destroyable.
std::vector<const DstEntry*> DstImpl::live_entries() const {
  std::vector<const DstEntry*> out;
  for (const auto& [n, e] : cache_) out.push_back(e);
  collector_->for_each([&](DstEntry* e) {
    if (e->count.read() != 0 && !e->destroyed.load(std::memory_order_relaxed)) out.push_back(e);
  });
  std::sort(out.begin(), out.end(),
            [](const DstEntry* a, const DstEntry* b) { return a->seq < b->seq; });
  return out;
}

EntryGauges DstImpl::gauges(const DstEntry& e) const {
  return {.refs = e.count.read() - (e.obsolete ? 0u : 1u),
          .obsolete = e.obsolete,
          .blackhole = e.dev == &blackhole_};
}

// The design's own lock (the timer's full scan) is exempt from the bound:
// its sections are unbounded by construction.
// Overdue: those the audit counted, and those overdue now but not yet
// counted (so the tick that passes the deadline is the one that shows it).
CheckGauges DstImpl::checks() const {
  uint64_t overdue = overdue_;
  const uint64_t now = sched::now_ms();
  collector_->for_each([&](DstEntry* e) { overdue += !e->overdue && is_overdue(*e, now); });
  return {.overdue = overdue, .lock_overwork = collector_->lock().overwork()};
}

void DstImpl::snapshot(trace::Snapshot& out) const {
  for (const DstEntry* e : live_entries()) gauges(*e).add_to(out, e->label);
  checks().add_to(out);
}

uint64_t DstImpl::digest() const {
  uint64_t sum = checks().digest();
  for (const DstEntry* e : live_entries()) sum += gauges(*e).digest(e->label);
  return sum;
}

uint64_t DstImpl::digest(std::string_view ns) const {
  return ns == kSnapshotNs ? digest() : 0;
}

std::string DstImpl::describe() const {
  const auto entries = live_entries();
  // DstModel::describe's format, line for line; then the self-checks.
  std::string out = "dst: " + std::to_string(entries.size()) + " entries not yet destroyable\n";
  for (const DstEntry* e : entries) {
    const EntryGauges g = gauges(*e);
    out += "  " + e->label + " dev=" + e->dev->name + " refs=" + std::to_string(g.refs) +
           " obsolete=" + std::to_string(g.obsolete) + "\n";
  }
  std::vector<std::pair<std::string, std::string>> refs;
  for (const auto& [ref, e] : refs_) refs.emplace_back(ref, e->label);
  std::sort(refs.begin(), refs.end());
  out += "  dst refs:";
  for (const auto& [ref, label] : refs) out += " " + ref + "=" + label;
  out += "\n";
  if (const CheckGauges c = checks(); c.overdue || c.lock_overwork)
    out += "  self-checks: overdue=" + std::to_string(c.overdue) +
           " lock-overwork=" + std::to_string(c.lock_overwork) + "\n";
  return out;
}

std::optional<std::string> DstImpl::find_invariant_violation() const {
  std::unordered_map<const NetDevice*, uint64_t> pointing;
  for (const auto& e : store_)
    if (!e->destroyed.load(std::memory_order_relaxed)) ++pointing[e->dev];
  for (const auto& [n, e] : cache_)
    if (e->obsolete || e->destroyed.load(std::memory_order_relaxed))
      return e->label + ": cached but freed";
  std::optional<std::string> listed;
  collector_->for_each([&](DstEntry* e) {
    if (!listed && (!e->obsolete || e->destroyed.load(std::memory_order_relaxed)))
      listed = e->label + ": listed by the collector, not freed or already destroyed";
  });
  if (listed) return listed;
  for (const auto& d : all_devices_)
    if (d->refcnt.load(std::memory_order_relaxed) != pointing[d.get()])
      return "device " + d->name + ": refcnt is not the number of entries pointing at it";
  return std::nullopt;
}

}  // namespace nv::dst
