#include "trace/netns/netns_ops.h"

#include "trace/digest.h"
#include "trace/engine.h"

namespace nv::netns {

using trace::FieldSpec;
using trace::Kind;
using trace::NsUse;

std::string label(std::string_view name, NetId id, bool bound) {
  std::string out(name);
  if (!bound) out += "#" + std::to_string(id);
  return out;
}

void NetGauges::add_to(trace::Snapshot& out, const std::string& label) const {
  auto& values = out.ns[label];
  values["netns.refs"] = refs;
  values["netns.dying"] = dying;
  values["netns.devices"] = devices;
  values["netns.pernet"] = pernet;
  values["netns.holds"] = holds;
}

uint64_t NetGauges::digest(std::string_view label) const {
  return trace::Digest(label).add(refs).add(dying).add(devices).add(pernet).add(holds).value();
}

trace::Event device_event(std::string_view kind, std::string_view dev, std::string_view ns) {
  trace::Event e{std::string(kind), {}};
  e.add("dev", std::string(dev)).add("ns", std::string(ns));
  return e;
}

trace::Event register_failed_event(std::string_view op) {
  trace::Event e{"pernet-register-failed", {}};
  e.add("op", std::string(op));
  return e;
}

trace::Event maybe_get_event(NetId id, bool ok) {
  trace::Event e{"netns-maybe-get", {}};
  e.add("nsid", uint64_t(id)).add("ok", uint64_t(ok));
  return e;
}

trace::Event cleanup_event(size_t batch) {
  trace::Event e{"netns-cleanup", {}};
  e.add("batch", uint64_t(batch));
  return e;
}

trace::Event exit_batch_event(std::string_view op, size_t count) {
  trace::Event e{"pernet-exit-batch", {}};
  e.add("op", std::string(op)).add("count", uint64_t(count));
  return e;
}

trace::Event cleanup_wait_event(std::string_view label, NetId id, size_t holds,
                                std::string_view holder) {
  trace::Event e{"netns-cleanup-wait", {}};
  e.add("ns", std::string(label))
      .add("nsid", uint64_t(id))
      .add("holds", uint64_t(holds))
      .add("holder", std::string(holder));
  return e;
}

trace::Event pernet_event(std::string_view kind, std::string_view op, std::string_view label,
                          NetId id) {
  trace::Event e{std::string(kind), {}};
  e.fields.reserve(3);  // one allocation: a cleanup pass makes one per namespace and operation
  if (!op.empty()) e.add("op", std::string(op));
  e.add("ns", std::string(label)).add("nsid", uint64_t(id));
  return e;
}

void call_netdevice_notifiers(std::span<NetdevNotifier* const> notifiers, NetdevEvent event,
                              std::string_view dev, std::vector<trace::Event>& out) {
  for (NetdevNotifier* n : notifiers) n->netdev_event(event, dev, out);
}

void unregister_netdevices(std::span<NetdevNotifier* const> notifiers,
                           std::span<const std::string> devs, std::vector<trace::Event>& out) {
  for (const std::string& dev : devs)
    call_netdevice_notifiers(notifiers, NetdevEvent::kUnregister, dev, out);
  for (const std::string& dev : devs) {  // netdev_wait_allrefs
    std::string held;
    for (NetdevNotifier* n : notifiers)
      for (const std::string& h : n->holders(dev)) held += (held.empty() ? "" : ",") + h;
    if (held.empty()) continue;
    trace::Event e{"netdev-wait", {}};
    e.add("dev", dev).add("holders", std::move(held));
    out.push_back(std::move(e));
  }
}

void register_ops(trace::Registry& r) {
  const FieldSpec ns{.key = "NS", .kind = Kind::kName, .positional = true, .help = "namespace"};
  const auto name = trace::name_field;
  const FieldSpec nsid{.key = "NSID", .positional = true, .max = 0xffffffff, .help = "identity"};
  r.add_op({.name = "netns add",
            .subsystem = "netns",
            .help = "create a namespace holding one user reference; pernet inits run in list "
                    "order (\"init\" always exists)",
            .fields = {name("NAME", trace::kScopeNetns, NsUse::kCreate, "new namespace")}});
  r.add_op({.name = "netns del",
            .subsystem = "netns",
            .help = "drop the user reference: the last reference starts the teardown",
            .fields = {name("NAME", trace::kScopeNetns, NsUse::kDestroy, "namespace")}});
  r.add_op({.name = "netns get",
            .subsystem = "netns",
            .help = "take a reference on the namespace (get_net)",
            .fields = {ns, name("REF", kScopeRef, NsUse::kCreate, "the reference's name")}});
  r.add_op({.name = "netns maybe_get",
            .subsystem = "netns",
            .help = "take a reference unless the namespace is dying or gone (maybe_get_net)",
            .fields = {nsid, name("REF", kScopeRef, NsUse::kCreate, "the reference's name")}});
  r.add_op({.name = "netns put",
            .subsystem = "netns",
            .help = "drop a reference (put_net): the last one queues the namespace for cleanup",
            .fields = {name("REF", kScopeRef, NsUse::kDestroy, "reference")}});
  r.add_op({.name = "pernet register",
            .subsystem = "netns",
            .help = "register a pernet operation; its init runs on every live namespace",
            .fields = {name("OP", kScopePernet, NsUse::kCreate, "operation"),
                       {.key = "device",
                        .required = false,
                        .max = 1,
                        .help = "1: a device operation (register_pernet_device)"},
                       {.key = "fail",
                        .required = false,
                        .max = 0xffffffff,
                        .help = "its init fails for the namespace of this identity"}}});
  r.add_op({.name = "pernet unregister",
            .subsystem = "netns",
            .help = "unregister a pernet operation; its exit runs on every live namespace",
            .fields = {name("OP", kScopePernet, NsUse::kDestroy, "operation")}});
  r.add_op({.name = "dev add",
            .subsystem = "netns",
            .help = "register a network device in a namespace",
            .fields = {ns,
                       name("DEV", kScopeDev, NsUse::kCreate, "device"),
                       {.key = "phys",
                        .required = false,
                        .max = 1,
                        .help = "1: a physical device, moved back to init when its namespace "
                                "dies; 0 (default): virtual, deleted with it"}}});
  r.add_op({.name = "dev del",
            .subsystem = "netns",
            .help = "unregister a network device",
            .fields = {name("DEV", kScopeDev, NsUse::kDestroy, "device")}});
  r.add_op({.name = "dev move",
            .subsystem = "netns",
            .help = "move a network device to another namespace",
            .fields = {name("DEV", kScopeDev, NsUse::kRef, "device"), ns}});
  r.add_op({.name = "dev down",
            .subsystem = "netns",
            .help = "take a network device down (NETDEV_DOWN to every device notifier)",
            .fields = {name("DEV", kScopeDev, NsUse::kRef, "device")}});
}

bool forward_to_own(trace::Engine* own, const trace::Op& op) {
  if (!own || op.spec->subsystem != "netns") return false;
  std::vector<trace::Event> dropped;
  own->apply(op, dropped);
  own->settle(dropped);
  return true;
}

}  // namespace nv::netns
