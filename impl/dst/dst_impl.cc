#include "impl/dst/dst_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace nv::dst {

using trace::Event;
using trace::op_id;

// A section under garbage_lock_ (dst_garbage.lock): counts the list nodes
// it touches, and a section that touched more than kLockWorkBound is a
// failed self-check (dst.lock-overwork). When the benchmark measures, also
// how long the lock was held.
class DstImpl::GarbageLock {
 public:
  explicit GarbageLock(DstImpl& d) : d_(d) {
    d_.garbage_lock_.lock();
    if (d_.measure_lock_hold_) start_ = std::chrono::steady_clock::now();
  }
  ~GarbageLock() {
    if (work_ > kLockWorkBound) ++d_.checks_.lock_overwork;
    if (d_.measure_lock_hold_) {
      const auto held = std::chrono::steady_clock::now() - start_;
      d_.longest_hold_ns_ = std::max<uint64_t>(
          d_.longest_hold_ns_,
          uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count()));
    }
    d_.garbage_lock_.unlock();
  }
  GarbageLock(const GarbageLock&) = delete;
  GarbageLock& operator=(const GarbageLock&) = delete;
  void work() { ++work_; }

 private:
  DstImpl& d_;
  uint64_t work_ = 0;
  std::chrono::steady_clock::time_point start_;
};

DstImpl::DstImpl(netns::PernetHost& host, MutantSet mutants) : mutants_(mutants) {
  blackhole_.name = std::string(kBlackhole);
  host.register_netdevice_notifier(this);
}

DstImpl::~DstImpl() = default;

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

// dst_release: drops the count and touches the entry no more; the collector
// destroys it once it sees the count at 0.
void DstImpl::put(const trace::Op& op) {
  DstEntry* e;
  {
    std::lock_guard cache(cache_lock_);
    auto it = refs_.find(op.name(fields::kPutRef));
    if (it == refs_.end()) return;
    e = it->second;
    refs_.erase(it);
  }
  if (e->destroyed) sched::fail("dst: put on a destroyed entry " + e->label + "; use-after-free");
  e->count.dec_and_test();
}

// dst_free then __dst_free: with the cache lock held from the unhash to the
// push, so that a device event sees the entry in one place or the other.
void DstImpl::free(const trace::Op& op) {
  std::lock_guard cache(cache_lock_);
  auto it = cache_.find(op.name(fields::kFreeDst));
  if (it == cache_.end()) return;
  DstEntry* e = it->second;
  cache_.erase(it);
  e->obsolete = true;
  if (e->count.dec_and_test()) {  // nobody holds it: destroyed at once
    destroy(e);
    return;
  }
  GarbageLock lock(*this);
  lock.work();
  e->next = garbage_;
  garbage_ = e;
  if (timer_inc_ > kGcIncMs) {
    timer_inc_ = kGcIncMs;
    timer_expires_ = kGcMinMs;
    gc_wq_.queue_delayed_work(gc_work_, timer_expires_);
  }
}

// dst_destroy: drops the device reference and poisons the entry.
void DstImpl::destroy(DstEntry* e) {
  e->destroyed = true;
  e->dev->refcnt.fetch_sub(1, std::memory_order_relaxed);  // dev_put
  destroyed_.fetch_add(1, std::memory_order_relaxed);
}

// dst_gc_task.
void DstImpl::gc_task() {
  std::lock_guard mutex(gc_mutex_);
  // The mutant scans under the spinlock, from the first node to the last.
  std::optional<GarbageLock> scan;
  if (mutants_.has(DstMutant::kScanLocked)) scan.emplace(*this);
  const uint32_t unreferenced = mutants_.has(DstMutant::kDestroyReferenced) ? 1 : 0;
  uint64_t delayed = 0, performed = 0;
  DstEntry* kept = nullptr;
  DstEntry** tail = &kept;
  DstEntry* next = busy_;
  for (;;) {
    while (DstEntry* e = next) {
      next = e->next;
      if (scan) scan->work();
      if (e->count.read() > unreferenced) {
        *tail = e;
        tail = &e->next;
        ++delayed;
        continue;
      }
      ++performed;
      destroy(e);
    }
    std::optional<GarbageLock> own;
    if (!scan) own.emplace(*this);
    GarbageLock& lock = scan ? *scan : *own;
    next = garbage_;
    if (next) {  // splice the garbage list and walk it too
      lock.work();
      garbage_ = nullptr;
      continue;
    }
    *tail = nullptr;
    busy_ = kept;
    if (!busy_) {
      timer_inc_ = kGcMaxMs;
      return;
    }
    // Destroyed at most a tenth of what was delayed: sleep longer.
    if (performed <= delayed / 10) {
      timer_expires_ = std::min(timer_expires_ + timer_inc_, kGcMaxMs);
      timer_inc_ += kGcIncMs;
    } else {
      timer_inc_ = kGcIncMs;
      timer_expires_ = kGcMinMs;
    }
    if (!mutants_.has(DstMutant::kGcStops) || performed > 0)
      gc_wq_.queue_delayed_work(gc_work_, timer_expires_);
    return;
  }
}

// dst_ifdown: the entry lets go of the device for the blackhole device.
void DstImpl::ifdown(DstEntry* e, NetDevice* dev) {
  if (e->dev != dev) return;
  e->dev = &blackhole_;
  blackhole_.refcnt.fetch_add(1, std::memory_order_relaxed);
  dev->refcnt.fetch_sub(1, std::memory_order_relaxed);
}

// dst_dev_event.
void DstImpl::netdev_event(netns::NetdevEvent event, std::string_view name, std::vector<Event>&) {
  if (event == netns::NetdevEvent::kRegister) {
    std::lock_guard cache(cache_lock_);
    all_devices_.push_back(std::make_unique<NetDevice>());
    all_devices_.back()->name = std::string(name);
    devices_[std::string(name)] = all_devices_.back().get();
    return;
  }
  std::lock_guard mutex(gc_mutex_);
  NetDevice* dev;
  {
    std::lock_guard cache(cache_lock_);
    auto it = devices_.find(std::string(name));
    if (it == devices_.end()) return;
    dev = it->second;
    if (event == netns::NetdevEvent::kUnregister) {
      dev->registered = false;
      devices_.erase(it);
    }
    for (auto& [n, e] : cache_) ifdown(e, dev);  // the route cache's flush
  }
  DstEntry* last = nullptr;
  for (DstEntry* e = busy_; e; e = e->next) {
    last = e;
    ifdown(e, dev);
  }
  if (mutants_.has(DstMutant::kIfdownBusyOnly)) return;
  DstEntry* spliced;
  {
    GarbageLock lock(*this);
    lock.work();
    spliced = garbage_;
    garbage_ = nullptr;
  }
  (last ? last->next : busy_) = spliced;
  for (DstEntry* e = spliced; e; e = e->next) ifdown(e, dev);
}

std::vector<std::string> DstImpl::holders(std::string_view name) const {
  std::vector<std::string> out;
  auto held = [&](const DstEntry* e) {
    if (!e->destroyed && !e->dev->registered && e->dev->name == name) out.push_back(e->label);
  };
  std::lock_guard mutex(gc_mutex_);
  std::lock_guard cache(cache_lock_);
  for (const auto& [n, e] : cache_) held(e);
  for (const DstEntry* e = busy_; e; e = e->next) held(e);
  std::lock_guard garbage(garbage_lock_);
  for (const DstEntry* e = garbage_; e; e = e->next) held(e);
  std::sort(out.begin(), out.end());
  return out;
}

void DstImpl::audit() {
  const uint64_t now = sched::now_ms();
  auto look = [&](DstEntry* e) {
    if (e->count.read() != 0) return;
    if (e->unreferenced_at == UINT64_MAX) e->unreferenced_at = now;
    if (!e->overdue && now - e->unreferenced_at > kGcDeadlineMs) {
      e->overdue = true;
      ++checks_.overdue;
    }
  };
  for (DstEntry* e = busy_; e; e = e->next) look(e);
  for (DstEntry* e = garbage_; e; e = e->next) look(e);
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

void DstImpl::run_gc_now() {
  gc_wq_.cancel_delayed_work(gc_work_);
  gc_wq_.queue_delayed_work(gc_work_, 0);
  gc_wq_.flush();
}

size_t DstImpl::pending() const {
  size_t n = 0;
  std::lock_guard mutex(gc_mutex_);
  for (const DstEntry* e = busy_; e; e = e->next) ++n;
  std::lock_guard garbage(garbage_lock_);
  for (const DstEntry* e = garbage_; e; e = e->next) ++n;
  return n;
}

// Read with nothing running (the runner's quiescent points), without locks.
std::vector<const DstImpl::DstEntry*> DstImpl::live_entries() const {
  std::vector<const DstEntry*> out;
  for (const auto& [n, e] : cache_) out.push_back(e);
  for (const DstEntry* e = busy_; e; e = e->next)
    if (live(*e)) out.push_back(e);
  for (const DstEntry* e = garbage_; e; e = e->next)
    if (live(*e)) out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const DstEntry* a, const DstEntry* b) { return a->seq < b->seq; });
  return out;
}

EntryGauges DstImpl::gauges(const DstEntry& e) const {
  return {.refs = e.count.read() - (e.obsolete ? 0u : 1u),
          .obsolete = e.obsolete,
          .blackhole = e.dev == &blackhole_};
}

void DstImpl::snapshot(trace::Snapshot& out) const {
  for (const DstEntry* e : live_entries()) gauges(*e).add_to(out, e->label);
  checks_.add_to(out);
}

uint64_t DstImpl::digest() const {
  uint64_t sum = checks_.digest();
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
  if (checks_.overdue || checks_.lock_overwork)
    out += "  self-checks: overdue=" + std::to_string(checks_.overdue) +
           " lock-overwork=" + std::to_string(checks_.lock_overwork) + "\n";
  return out;
}

std::optional<std::string> DstImpl::find_invariant_violation() const {
  std::unordered_map<const NetDevice*, uint64_t> pointing;
  for (const auto& e : store_) {
    if (!e->destroyed) ++pointing[e->dev];
  }
  for (const auto& [n, e] : cache_)
    if (e->obsolete || e->destroyed) return e->label + ": cached but freed";
  for (const DstEntry* e = busy_; e; e = e->next)
    if (!e->obsolete || e->destroyed) return e->label + ": on the busy list, not freed";
  for (const DstEntry* e = garbage_; e; e = e->next)
    if (!e->obsolete || e->destroyed) return e->label + ": on the garbage list, not freed";
  for (const auto& d : all_devices_)
    if (d->refcnt.load(std::memory_order_relaxed) != pointing[d.get()])
      return "device " + d->name + ": refcnt is not the number of entries pointing at it";
  return std::nullopt;
}

}  // namespace nv::dst
