#include "model/defer/defer_model.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "trace/digest.h"

namespace nv::defer {

using trace::Event;
using trace::op_id;

std::unique_ptr<trace::Engine> DeferModel::clone(
    const std::function<trace::Engine*(std::string_view)>&) const {
  return std::make_unique<DeferModel>(*this);
}

void DeferModel::apply(const trace::Op& op, std::vector<Event>& out) {
  switch (op.spec->id) {
    case op_id("skb alloc"):
      alloc(op.name(fields::kSkb), uint32_t(op.u(fields::kCpu)), out);
      break;
    case op_id("skb free"):
      free(op.name(fields::kSkb), uint32_t(op.u(fields::kCpu)), out);
      break;
    case op_id("cpu rx"):
      rx(uint32_t(op.u(fields::kCpuId)), out);
      break;
    case op_id("cpu down"):  // 5.
      cpus_[op.u(fields::kCpuId)].online = false;
      break;
    case op_id("cpu up"):
      cpus_[op.u(fields::kCpuId)].online = true;
      break;
    case op_id("sysctl"): {  // 6.
      if (op.word_text(trace::core::kSysctlKey) != kDeferMaxKey) break;
      if (!write_defer_max(op.name(trace::core::kSysctlNs), op.u(trace::core::kSysctlValue),
                           &defer_max_))
        out.push_back(trace::sysctl_refused_event(op));
      for (Cpu& c : cpus_) c.high_water = std::max<uint64_t>(c.high_water, defer_max_);
      break;
    }
  }
#ifndef NDEBUG
  check_invariants();
#endif
}

// 1. napi_alloc_skb.
void DeferModel::alloc(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  Skb s{name, next_id_++, cpu};
  out.push_back(alloc_event(name, s.id, cpu));
  skbs_[name] = std::move(s);
  ++live_;
}

void DeferModel::free(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  auto it = skbs_.find(name);
  if (it == skbs_.end()) return;  // a go'd free that ran before its alloc: nothing to free
  Skb s = std::move(it->second);
  skbs_.erase(it);
  auto free_now = [&](std::string_view reason) {
    out.push_back(free_event(s.name, s.id, cpu, s.alloc_cpu, reason));
    --live_;
  };
  // 2. Freed at once.
  if (s.alloc_cpu == cpu) return free_now(kFreeLocal);
  Cpu& owner = cpus_[s.alloc_cpu];
  if (!owner.online) return free_now(kFreeOwnerOffline);
  if (!may_defer(owner.defer_list.size(), defer_max_)) return free_now(kFreeFull);
  // 3. Deferred to the owner.
  const bool kick = kicks(owner.defer_list.size(), defer_max_);
  owner.high_water = std::max<uint64_t>(owner.high_water, defer_max_);
  owner.defer_list.push_back(s);
  out.push_back(defer_event(s.name, s.id, s.alloc_cpu, owner.defer_list.size()));
  if (kick && !owner.ipi_scheduled) {
    owner.ipi_scheduled = true;
    out.push_back(kick_event(s.alloc_cpu));
  }
}

// 4. net_rx_action.
void DeferModel::rx(uint32_t cpu, std::vector<Event>& out) {
  Cpu& c = cpus_[cpu];
  if (!c.online) return out.push_back(cpu_offline_event(cpu));
  c.ipi_scheduled = false;
  for (auto it = c.defer_list.rbegin(); it != c.defer_list.rend(); ++it) {
    out.push_back(free_event(it->name, it->id, cpu, it->alloc_cpu, kFreeDrain));
    --live_;
  }
  c.defer_list.clear();
  c.high_water = defer_max_;
}

DeferState DeferModel::state() const {
  DeferState st;
  st.defer_max = defer_max_;
  st.live = live_;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    st.cpus[c].online = cpus_[c].online;
    st.cpus[c].ipi = cpus_[c].ipi_scheduled;
    for (auto it = cpus_[c].defer_list.rbegin(); it != cpus_[c].defer_list.rend(); ++it)
      st.cpus[c].list.push_back(it->id);
  }
  return st;
}

void DeferModel::check_invariants() const {
  std::set<uint64_t> seen;
  for (const auto& [name, s] : skbs_) seen.insert(s.id);
  uint64_t deferred = 0;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    const Cpu& cpu = cpus_[c];
    bool ok = cpu.defer_list.size() <= std::max<uint64_t>(cpu.high_water, defer_max_);
    for (const Skb& s : cpu.defer_list) ok &= s.alloc_cpu == c && seen.insert(s.id).second;
    deferred += cpu.defer_list.size();
    if (!ok) {
      std::fprintf(stderr, "DeferModel: broken invariant on cpu%u\n%s", c, describe().c_str());
      std::abort();
    }
  }
  if (live_ != skbs_.size() + deferred) {
    std::fprintf(stderr, "DeferModel: live count %llu, not %zu\n", (unsigned long long)live_,
                 skbs_.size() + size_t(deferred));
    std::abort();
  }
}

void DeferModel::snapshot(trace::Snapshot& out) const {
  state().add_to(out);
}
uint64_t DeferModel::digest() const {
  return state().digest();
}
uint64_t DeferModel::digest(std::string_view ns) const {
  return ns == "init" ? digest() : 0;
}
std::string DeferModel::describe() const {
  return state().describe();
}
uint64_t DeferModel::fingerprint() const {
  trace::Fingerprint f;
  f.add(state().fingerprint()).add(next_id_);
  for (const auto& [name, s] : skbs_) f.add(name).add(s.id).add(s.alloc_cpu);
  return f.value();
}

}  // namespace nv::defer
