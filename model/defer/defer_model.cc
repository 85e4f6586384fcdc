#include "model/defer/defer_model.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "trace/digest.h"

namespace nv::defer {

using trace::Event;

std::unique_ptr<trace::Engine> DeferModel::clone(
    const std::function<trace::Engine*(std::string_view)>& deps) const {
  auto copy = std::make_unique<DeferModel>(*this);
  copy->host_ = host_ ? dynamic_cast<netns::PernetHost*>(deps("netns")) : nullptr;
  return copy;
}

void DeferModel::apply(const trace::Op& op, std::vector<Event>& out) {
  dispatch(op, *this, out);
#ifndef NDEBUG
  if (auto e = find_invariant_violation()) {
    std::fprintf(stderr, "netverify: DeferModel invariant broken: %s\n%s", e->c_str(),
                 describe().c_str());
    std::abort();
  }
#endif
}

// 5. CPU hotplug: the list stays.
void DeferModel::set_online(uint32_t cpu, bool online) {
  cpus_[cpu].online = online;
}

// 6. net.core.skb_defer_max (validated by dispatch()).
void DeferModel::set_defer_max(uint32_t defer_max) {
  defer_max_ = defer_max;
  for (Cpu& c : cpus_) c.high_water = std::max<uint64_t>(c.high_water, defer_max_);
}

// 1. napi_alloc_skb.
void DeferModel::alloc(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  Skb s{name, next_id_++, cpu};
  out.push_back(alloc_event(name, s.id, cpu));
  // The name is free in every order the linearizability search tries:
  // racing lines never share an skb name (trace/section_names.h).
  skbs_.emplace(name, std::move(s));
  ++live_;
}

void DeferModel::free(const std::string& name, uint32_t cpu, std::vector<Event>& out) {
  Skb s = std::move(skbs_.at(name));  // alive, as in alloc()
  skbs_.erase(name);
  release(std::move(s), cpu, out);
}

// 7. Another subsystem's skb.
void DeferModel::free_skb(std::string name, uint32_t alloc_cpu, uint32_t cpu,
                          std::optional<netns::NetId> hold, std::vector<Event>& out) {
  ++live_;
  release(Skb{std::move(name), next_id_++, alloc_cpu, hold}, cpu, out);
}

void DeferModel::release(Skb s, uint32_t cpu, std::vector<Event>& out) {
  auto free_now = [&](std::string_view reason) {
    out.push_back(free_event(s.name, s.id, cpu, s.alloc_cpu, reason));
    --live_;
  };
  // 2. Freed at once.
  if (s.alloc_cpu == cpu) return free_now(kFreeLocal);
  Cpu& owner = cpus_[s.alloc_cpu];
  if (!owner.online) return free_now(kFreeOwnerOffline);
  if (!may_defer(owner.defer_list.size(), defer_max_)) return free_now(kFreeFull);
  // 3. Deferred to the owner (7. holding its namespace, if it has one).
  const bool kick = kicks(owner.defer_list.size(), defer_max_);
  owner.high_water = std::max<uint64_t>(owner.high_water, defer_max_);
  if (s.hold && host_) host_->hold(*s.hold, s.name);
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
    if (it->hold && host_) host_->put_hold(*it->hold, it->name, out);
  }
  c.defer_list.clear();
  c.high_water = defer_max_;
}

DeferState DeferModel::state() const {
  DeferState st;
  st.defer_max = defer_max_;
  st.live = live_;
  st.rx_cpu = rx_cpu_;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    st.cpus[c].online = cpus_[c].online;
    st.cpus[c].ipi = cpus_[c].ipi_scheduled;
    for (auto it = cpus_[c].defer_list.rbegin(); it != cpus_[c].defer_list.rend(); ++it)
      st.cpus[c].list.push_back(it->id);
  }
  return st;
}

std::optional<std::string> DeferModel::find_invariant_violation() const {
  std::set<uint64_t> seen;
  for (const auto& [name, s] : skbs_) seen.insert(s.id);
  uint64_t deferred = 0;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    const Cpu& cpu = cpus_[c];
    const std::string where = "cpu" + std::to_string(c) + ": ";
    if (cpu.defer_list.size() > std::max<uint64_t>(cpu.high_water, defer_max_))
      return where + "list longer than skb_defer_max has been since its last drain";
    for (const Skb& s : cpu.defer_list)
      if (s.alloc_cpu != c || !seen.insert(s.id).second)
        return where + "skb " + std::to_string(s.id) + " does not belong";
    deferred += cpu.defer_list.size();
  }
  if (live_ != skbs_.size() + deferred)
    return "live count " + std::to_string(live_) + " is not " +
           std::to_string(skbs_.size() + deferred);
  return std::nullopt;
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
  for (const Cpu& c : cpus_)
    for (const Skb& s : c.defer_list) f.add(s.name).add(s.hold.value_or(UINT32_MAX) + 1ull);
  return f.value();
}

}  // namespace nv::defer
