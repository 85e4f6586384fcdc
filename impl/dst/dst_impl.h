// DstImpl: route cache entries, their references and devices, and the
// garbage collection of freed entries by one of three designs
// (impl/dst/collector.h): the route cache owns cached entries (by name),
// references are looked up by name, device events move entries to the
// blackhole device, and the collector destroys freed entries once they are
// unreferenced, each design in its own time.
//
// Invariants (find_invariant_violation checks them in debug builds, between
// operations): a cached entry is not obsolete and not destroyed; an entry
// the collector lists is obsolete and not destroyed; each device's refcnt
// is the number of undestroyed entries pointing at it.
//
// Concurrency (the trace's ops on threads of their own, the collector on
// its worker or timer, device events on netns's threads, which hold netns's
// RTNL): cache_lock_ (the route cache's lock, and the device table's)
// guards cache_, refs_, generations_, devices_ and each cached entry's dev;
// an entry leaves the cache and reaches the collector with it held, so that
// a device event walking the cache and then the collector misses none.
// Lock order: the collector's mutex, cache_lock_, the collector's spinlock.
// Memory ordering: every structure here is lock-protected; see the
// collectors for the entries' counts.
//
// Destroyed entries are poisoned, not freed (until the engine goes): a
// reference dropped on one fails the thread ("dst: put on a destroyed
// entry"), the use after free the kernel would have.
//
// Self-checks (test mode, between operations; snapshot keys dst.overdue and
// dst.lock-overwork, docs/design.md "dst"): an entry the collector lists
// that stays unreferenced past kGcDeadlineMs, and a section of the
// collector's list lock that did more than constant work.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "impl/dst/collector.h"
#include "impl/dst/dst_mutants.h"
#include "sched/spinlock.h"
#include "trace/dst/dst_ops.h"
#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::dst {

enum class Design : uint8_t {
  kWorker,  // 2007: the workqueue (the default; the seed)
  kTimer,   // before: the softirq timer's full scan
  kRcu,     // today: the last reference, after a grace period
};
// Subsystem::designs' names, in Design order (the first is the default).
inline constexpr std::array<std::string_view, 3> kDesignNames = {"worker", "timer", "rcu"};
std::optional<Design> design_by_name(std::string_view name);

class DstImpl final : public trace::Engine, public netns::NetdevNotifier {
 public:
  DstImpl(netns::PernetHost& host, Design design, MutantSet mutants = {});
  ~DstImpl() override;
  DstImpl(const DstImpl&) = delete;
  DstImpl& operator=(const DstImpl&) = delete;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  void netdev_event(netns::NetdevEvent event, std::string_view dev,
                    std::vector<trace::Event>& out) override;
  std::vector<std::string> holders(std::string_view dev) const override;

  // The benchmark's view of the collector.
  Collector& collector() { return *collector_; }

  std::optional<std::string> find_invariant_violation() const;

 private:
  void alloc(const trace::Op& op, std::vector<trace::Event>& out);
  void hold(const trace::Op& op);
  void put(const trace::Op& op);
  void free(const trace::Op& op);
  // Test mode, between operations: marks the listed entries newly seen
  // unreferenced, counts those left past kGcDeadlineMs, checks invariants.
  void audit();
  static bool is_overdue(const DstEntry& e, uint64_t now);
  EntryGauges gauges(const DstEntry& e) const;
  CheckGauges checks() const;
  std::vector<const DstEntry*> live_entries() const;  // by allocation order

  mutable sched::SpinLock cache_lock_;
  std::unordered_map<std::string, DstEntry*> cache_;
  std::unordered_map<std::string, DstEntry*> refs_;
  std::unordered_map<std::string, uint32_t> generations_;
  std::unordered_map<std::string, NetDevice*> devices_;  // registered, by name
  std::deque<std::unique_ptr<NetDevice>> all_devices_;   // every device ever (entries point)
  std::deque<std::unique_ptr<DstEntry>> store_;          // every entry ever (poisoned ones too)
  NetDevice blackhole_;
  uint64_t next_seq_ = 0;
  uint64_t overdue_ = 0;  // the audit's count
  // Last: destroyed first (its worker joined while the entries still exist).
  std::unique_ptr<Collector> collector_;
};

}  // namespace nv::dst
