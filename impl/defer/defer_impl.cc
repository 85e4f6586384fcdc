#include "impl/defer/defer_impl.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <utility>

#include "sched/scheduler.h"

namespace nv::defer {

using trace::Event;

void DeferImpl::apply(const trace::Op& op, std::vector<Event>& out) {
  dispatch(op, *this, out);
#ifndef NDEBUG
  // Only where no other thread can be half-way through an operation.
  sched::Scheduler* s = sched::current_scheduler();
  if (mutants_.empty() && (!s || !s->in_thread())) {
    if (auto e = find_invariant_violation()) {
      std::fprintf(stderr, "netverify: DeferImpl invariant broken: %s\n%s", e->c_str(),
                   describe().c_str());
      std::abort();
    }
  }
#endif
}

DeferImpl::Skb* DeferImpl::new_skb(std::string name, uint32_t cpu, bool bind) {
  std::lock_guard guard(skbs_lock_);
  Skb* skb = &skbs_.emplace_back();
  skb->name = std::move(name);
  skb->id = next_id_++;
  skb->alloc_cpu = cpu;                        // napi_alloc_skb
  if (bind) by_name_.emplace(skb->name, skb);  // a free name (trace/section_names.h)
  live_.fetch_add(1, std::memory_order_relaxed);
  return skb;
}

void DeferImpl::alloc(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  Skb* skb = new_skb(name, cpu, /*bind=*/true);
  out.push_back(alloc_event(name, skb->id, cpu));
}

void DeferImpl::kfree_skb(Skb& skb, uint32_t cpu, std::string_view reason,
                          std::vector<Event>& out) {
  skb.freed = true;
  live_.fetch_sub(1, std::memory_order_relaxed);
  out.push_back(free_event(skb.name, skb.id, cpu, skb.alloc_cpu, reason));
  if (skb.hold && host_) host_->put_hold(*std::exchange(skb.hold, std::nullopt), skb.name, out);
}

void DeferImpl::free(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  Skb* skb;
  {
    std::lock_guard guard(skbs_lock_);
    // Alive: racing lines never share an skb name (trace/section_names.h).
    auto it = by_name_.find(name);
    assert(it != by_name_.end());
    skb = it->second;
    by_name_.erase(it);
  }
  release(skb, cpu, std::nullopt, out);
}

void DeferImpl::free_skb(std::string name, uint32_t alloc_cpu, uint32_t cpu,
                         std::optional<netns::NetId> hold, std::vector<Event>& out) {
  release(new_skb(std::move(name), alloc_cpu, /*bind=*/false), cpu, hold, out);
}

// skb_attempt_defer_free.
void DeferImpl::release(Skb* skb, uint32_t cpu, std::optional<netns::NetId> hold,
                        std::vector<Event>& out) {
  const uint32_t owner = skb->alloc_cpu;
  if (owner == cpu) return kfree_skb(*skb, cpu, kFreeLocal, out);
  if (!cpus_[owner].online.load(std::memory_order_relaxed))
    return kfree_skb(*skb, cpu, kFreeOwnerOffline, out);
  const uint64_t id = skb->id;  // read before the owner may free it from its list
  const std::string name = skb->name;
  // The reference goes with the skb: taken before the push publishes it
  // (a racing drain puts it), dropped at once if the list is full.
  if (hold && host_) {
    host_->hold(*hold, skb->name);
    skb->hold = hold;
  }
  uint64_t count = 0;
  const DeferList::Push pushed = cpus_[owner].defer.push(skb, defer_max_, &count, mutants_);
  if (pushed == DeferList::Push::kFull) return kfree_skb(*skb, cpu, kFreeFull, out);
  out.push_back(defer_event(name, id, owner, count));
  if (pushed == DeferList::Push::kDeferredKick) out.push_back(kick_event(owner));
}

// net_rx_action's end: the pending kick handled, the list freed.
void DeferImpl::rx(uint32_t cpu, std::vector<Event>& out) {
  if (!cpus_[cpu].online.load(std::memory_order_relaxed))
    return out.push_back(cpu_offline_event(cpu));
  cpus_[cpu].defer.flush(
      [&](DeferSkb* node) { kfree_skb(*static_cast<Skb*>(node), cpu, kFreeDrain, out); }, mutants_);
}

DeferState DeferImpl::state() const {
  DeferState st;
  st.defer_max = defer_max_.load(std::memory_order_relaxed);
  st.live = live_.load(std::memory_order_relaxed);
  st.rx_cpu = rx_cpu();
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    st.cpus[c].online = cpus_[c].online.load(std::memory_order_relaxed);
    st.cpus[c].ipi = cpus_[c].defer.ipi_scheduled();
    // Bounded by count: a list that the mutant defer-flush-race left
    // pointing into freed skbs is shown as long as it claims to be.
    const DeferSkb* s = cpus_[c].defer.head();
    for (uint64_t k = 0; s && k < cpus_[c].defer.count(); ++k, s = s->next)
      st.cpus[c].list.push_back(static_cast<const Skb*>(s)->id);
  }
  return st;
}

std::optional<std::string> DeferImpl::find_invariant_violation() const {
  std::set<const DeferSkb*> seen;
  uint64_t deferred = 0;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    const DeferList& list = cpus_[c].defer;
    if (!list.check())
      return "cpu" + std::to_string(c) + ": count or kick flag disagrees with the list";
    for (const DeferSkb* s = list.head(); s; s = s->next) {
      const Skb& skb = *static_cast<const Skb*>(s);
      if (skb.alloc_cpu != c || skb.freed || !seen.insert(s).second)
        return "cpu" + std::to_string(c) + ": skb " + std::to_string(skb.id) + " does not belong";
      ++deferred;
    }
  }
  for (const auto& [name, skb] : by_name_)
    if (skb->freed || seen.count(skb)) return "skb " + name + " is live and freed or deferred";
  // Counted from the skbs themselves, not from by_name_ and the lists.
  uint64_t unfreed = 0;
  for (const Skb& skb : skbs_) unfreed += !skb.freed;
  if (live_.load(std::memory_order_relaxed) != unfreed)
    return "live count " + std::to_string(live_.load()) + " is not " + std::to_string(unfreed);
  return std::nullopt;
}

void DeferImpl::snapshot(trace::Snapshot& out) const {
  state().add_to(out);
}
uint64_t DeferImpl::digest() const {
  return state().digest();
}
uint64_t DeferImpl::digest(std::string_view ns) const {
  return ns == "init" ? digest() : 0;
}
std::string DeferImpl::describe() const {
  return state().describe();
}

}  // namespace nv::defer
