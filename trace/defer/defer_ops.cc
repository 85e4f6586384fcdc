#include "trace/defer/defer_ops.h"

#include "trace/digest.h"

namespace nv::defer {

using trace::Event;
using trace::FieldSpec;
using trace::Kind;
using trace::NsUse;

bool write_defer_max(std::string_view ns, uint64_t value, uint32_t* defer_max) {
  if (ns != "init" || value > 2147483647) return false;
  *defer_max = uint32_t(value);
  return true;
}

void dispatch(const trace::Op& op, DeferOps& engine, std::vector<Event>& out) {
  using trace::op_id;
  switch (op.spec->id) {
    case op_id("skb alloc"):
      return engine.alloc(op.name(fields::kSkb), uint32_t(op.u(fields::kCpu)), out);
    case op_id("skb free"):
      return engine.free(op.name(fields::kSkb), uint32_t(op.u(fields::kCpu)), out);
    case op_id("cpu rx"):
      return engine.rx(uint32_t(op.u(fields::kCpuId)), out);
    case op_id("cpu down"):
      return engine.set_online(uint32_t(op.u(fields::kCpuId)), false);
    case op_id("cpu up"):
      return engine.set_online(uint32_t(op.u(fields::kCpuId)), true);
    case op_id("cpu steer"):
      return engine.set_rx_cpu(uint32_t(op.u(fields::kCpuId)));
    case op_id("sysctl"): {
      if (op.word_text(trace::core::kSysctlKey) != kDeferMaxKey) return;
      uint32_t v = 0;
      if (write_defer_max(op.name(trace::core::kSysctlNs), op.u(trace::core::kSysctlValue), &v))
        return engine.set_defer_max(v);
      return out.push_back(trace::sysctl_refused_event(op));
    }
  }
}

Event alloc_event(std::string_view skb, uint64_t id, uint32_t cpu) {
  Event e{"skb-alloc", {}};
  e.add("skb", std::string(skb)).add("id", id).add("cpu", uint64_t(cpu));
  return e;
}

Event free_event(std::string_view skb, uint64_t id, uint32_t cpu, uint32_t alloc_cpu,
                 std::string_view reason) {
  Event e{"skb-free", {}};
  e.fields.reserve(5);
  e.add("skb", std::string(skb))
      .add("id", id)
      .add("cpu", uint64_t(cpu))
      .add("alloc_cpu", uint64_t(alloc_cpu))
      .add("reason", std::string(reason));
  return e;
}

Event defer_event(std::string_view skb, uint64_t id, uint32_t cpu, uint64_t count) {
  Event e{"skb-defer", {}};
  e.add("skb", std::string(skb)).add("id", id).add("cpu", uint64_t(cpu)).add("count", count);
  return e;
}

Event kick_event(uint32_t cpu) {
  Event e{"defer-kick", {}};
  e.add("cpu", uint64_t(cpu));
  return e;
}

Event cpu_offline_event(uint32_t cpu) {
  Event e{"cpu-offline", {}};
  e.add("cpu", uint64_t(cpu));
  return e;
}

void DeferState::add_to(trace::Snapshot& out) const {
  auto& m = out.ns["init"];
  m["defer.max"] = defer_max;
  m["skb.live"] = live;
  m["rx.cpu"] = rx_cpu;
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    const std::string cpu = "cpu" + std::to_string(c);
    m[cpu + ".online"] = cpus[c].online;
    m[cpu + ".defer"] = cpus[c].list.size();
  }
}

uint64_t DeferState::digest() const {
  trace::Digest d("init");
  d.add(defer_max).add(live).add(rx_cpu);
  for (const Cpu& c : cpus) d.add(c.online).add(c.list.size());
  return d.value();
}

uint64_t DeferState::fingerprint() const {
  trace::Fingerprint f;
  f.add(defer_max).add(live).add(rx_cpu);
  for (const Cpu& c : cpus) {
    f.add(c.online).add(c.ipi).add(c.list.size());
    for (uint64_t id : c.list) f.add(id);
  }
  return f.value();
}

std::string DeferState::describe() const {
  std::string s = "skb_defer_max " + std::to_string(defer_max) + ", " + std::to_string(live) +
                  " skbs live, packets arrive on cpu" + std::to_string(rx_cpu) + "\n";
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    s += "  cpu" + std::to_string(c) + (cpus[c].online ? " online" : " offline") +
         (cpus[c].ipi ? ", IPI scheduled" : "") + ", defer list [";
    for (size_t i = 0; i < cpus[c].list.size(); ++i)
      s += (i ? " " : "") + std::to_string(cpus[c].list[i]);
    s += "]\n";
  }
  return s;
}

void register_ops(trace::Registry& r) {
  r.add_word(trace::kVocabSysctl, std::string(kDeferMaxKey));
  // The gauges, for `expect defer init NAME VALUE`.
  for (const char* g : {"defer.max", "skb.live", "rx.cpu"}) r.add_word(kVocabGauge, g);
  for (uint32_t c = 0; c < kNrCpus; ++c) {
    r.add_word(kVocabGauge, "cpu" + std::to_string(c) + ".online");
    r.add_word(kVocabGauge, "cpu" + std::to_string(c) + ".defer");
  }
  auto skb = [](NsUse use, std::string help) {
    return FieldSpec{.key = "SKB",
                     .kind = Kind::kName,
                     .positional = true,
                     .ns_use = use,
                     .scope = std::string(kScopeSkb),
                     .exclusive = true,
                     .help = std::move(help)};
  };
  const FieldSpec cpu{.key = "cpu", .max = kNrCpus - 1, .help = "the CPU the code runs on"};
  auto cpu_id = [](uint64_t min) {
    return FieldSpec{
        .key = "CPU", .positional = true, .min = min, .max = kNrCpus - 1, .help = "logical CPU"};
  };
  r.add_op({.name = "skb alloc",
            .subsystem = "defer",
            .help = "allocate an skb on a CPU (napi_alloc_skb: skb->alloc_cpu)",
            .fields = {skb(NsUse::kCreate, "new skb"), cpu}});
  r.add_op({.name = "skb free",
            .subsystem = "defer",
            .help = "free an skb from a CPU (skb_attempt_defer_free): at once, or onto its "
                    "allocating CPU's defer list",
            .fields = {skb(NsUse::kDestroy, "skb"), cpu}});
  r.add_op({.name = "cpu rx",
            .subsystem = "defer",
            .help = "the CPU's NET_RX softirq (net_rx_action): handles a pending kick and "
                    "drains its whole defer list (skb_defer_free_flush)",
            .fields = {cpu_id(0)}});
  r.add_op({.name = "cpu down",
            .subsystem = "defer",
            .help = "take a CPU offline; its defer list stays until it returns (CPU 0 cannot)",
            .fields = {cpu_id(1)}});
  r.add_op({.name = "cpu up",
            .subsystem = "defer",
            .help = "bring a CPU back online",
            .fields = {cpu_id(0)}});
  r.add_op({.name = "cpu steer",
            .subsystem = "defer",
            .help = "steer received packets to a CPU (RSS/RPS): fragments from now on are "
                    "allocated there, and a datagram they complete is freed there (default 0)",
            .fields = {cpu_id(0)}});
  r.add_op({.name = "expect defer",
            .subsystem = "defer",
            .help = "one of the subsystem's gauges (defer.max, skb.live, rx.cpu, cpuN.online, "
                    "cpuN.defer; in init, where the sysctl lives) has this value now",
            .fields = {{.key = "NS", .kind = Kind::kName, .positional = true, .help = "init"},
                       {.key = "NAME",
                        .kind = Kind::kWord,
                        .positional = true,
                        .vocab = std::string(kVocabGauge),
                        .help = "gauge"},
                       {.key = "VALUE", .positional = true, .help = "value"}},
            .expect = [](const trace::Op& op, const std::vector<Event>&,
                         const trace::Snapshot& snap) -> std::optional<std::string> {
              const uint64_t have = snap.get(op.name(0), op.word_text(1));
              if (have == op.u(2)) return std::nullopt;
              return op.word_text(1) + " is " + std::to_string(have);
            }});
}

}  // namespace nv::defer
