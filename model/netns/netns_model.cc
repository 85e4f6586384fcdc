#include "model/netns/netns_model.h"

#include <algorithm>

#include "trace/digest.h"

namespace nv::netns {

using trace::Event;
using trace::op_id;

NetnsModel::NetnsModel() {
  nets_.emplace(kInitNet, Net{.name = "init"});
  names_.emplace("init", kInitNet);
  // 5. default_device_ops, registered at boot as the first device operation.
  pernet_.push_back({.name = std::string(kDefaultDevice), .device = true});
  nets_[kInitNet].data.insert(std::string(kDefaultDevice));
}

std::unique_ptr<trace::Engine> NetnsModel::clone(
    const std::function<trace::Engine*(std::string_view)>&) const {
  return std::make_unique<NetnsModel>(*this);
}

uint64_t NetnsModel::fingerprint() const {
  trace::Fingerprint f;
  for (const auto& [id, n] : nets_) {
    f.add(id).add(n.name).add(n.bound).add(n.count).add(n.user_ref).add(n.dying);
    f.add(n.data.size());
    for (const std::string& op : n.data) f.add(op);
  }
  for (const Pernet& p : pernet_)
    f.add(p.name).add(p.device).add(p.fail.value_or(UINT32_MAX) + 1ull);
  for (NetId id : cleanup_list_) f.add(id);
  for (const auto& [ref, id] : refs_) f.add(ref).add(id.value_or(UINT32_MAX) + 1ull);
  for (const Device& dev : devices_) f.add(dev.name).add(dev.net).add(dev.phys);
  for (const auto& [id, held] : holds_) {
    f.add(id).add(held.size());
    for (const std::string& h : held) f.add(h);
  }
  for (NetId id : waiting_) f.add(id);
  return f.add(next_id_).add(pernet_.size()).add(devices_.size()).value();
}

void NetnsModel::rebind(PernetOps* from, PernetOps* to) {
  for (Pernet& p : pernet_)
    if (p.ops == from) p.ops = to;
  std::replace(relabel_.begin(), relabel_.end(), from, to);
}

void NetnsModel::rebind_notifier(NetdevNotifier* from, NetdevNotifier* to) {
  std::replace(notifiers_.begin(), notifiers_.end(), from, to);
}

std::string NetnsModel::label_of(NetId id) const {
  const Net& n = nets_.at(id);
  return label(n.name, id, n.bound);
}

bool NetnsModel::lookup(std::string_view name, NetId* id) const {
  const auto it = names_.find(name);
  if (it == names_.end()) return false;
  *id = it->second;
  return true;
}

std::vector<NetnsModel::Device>::iterator NetnsModel::find_device(std::string_view name) {
  return std::find_if(devices_.begin(), devices_.end(),
                      [&](const Device& d) { return d.name == name; });
}

void NetnsModel::unbind(NetId id) {
  Net& n = nets_.at(id);
  if (!n.bound) return;
  n.bound = false;
  names_.erase(n.name);
  for (PernetOps* ops : relabel_) ops->relabel(id, label_of(id));
}

bool NetnsModel::run_init(const Pernet& p, NetId id, std::vector<Event>& out) {
  const bool ok = p.ops ? p.ops->init(id, label_of(id)) : p.fail != id;
  out.push_back(pernet_event(ok ? "pernet-init" : "pernet-init-failed", p.name, label_of(id), id));
  if (ok) nets_.at(id).data.insert(p.name);
  return ok;
}

void NetnsModel::run_pre_exit(const Pernet& p, const std::vector<NetId>& ids,
                              std::vector<Event>& out) {
  for (NetId id : ids) {
    if (!nets_.at(id).data.count(p.name)) continue;
    if (p.ops) p.ops->pre_exit(id);
    out.push_back(pernet_event("pernet-pre-exit", p.name, label_of(id), id));
  }
}

// ops_exit_list: exit over the namespaces that hold the operation's data,
// then exit_batch once; both see the data still allocated.
void NetnsModel::run_exit(const Pernet& p, const std::vector<NetId>& ids, std::vector<Event>& out) {
  std::vector<NetId> held;
  for (NetId id : ids)
    if (nets_.at(id).data.count(p.name)) held.push_back(id);
  for (NetId id : held) {
    if (p.ops) p.ops->exit(id);
    Event e = pernet_event("pernet-exit", p.name, label_of(id), id);
    // Every operation's data lives until ops_free_list, after every exit.
    e.add("data", uint64_t(nets_.at(id).data.size()));
    if (p.name == kDefaultDevice) {
      // 5. default_device_exit_net: physical devices go home to init.
      std::vector<Device> home;
      std::erase_if(devices_, [&](const Device& d) {
        if (d.net != id || !d.phys) return false;
        home.push_back(d);
        return true;
      });
      for (Device& d : home) {
        d.net = kInitNet;
        out.push_back(device_event("dev-move", d.name, "init"));
        devices_.push_back(std::move(d));
      }
    }
    out.push_back(std::move(e));
  }
  if (held.empty()) return;
  if (p.ops) p.ops->exit_batch(held);
  Event batch = exit_batch_event(p.name, held.size());
  if (p.name == kDefaultDevice) {
    // 5. default_device_exit_batch: the batch's other devices go in one
    //    unregister_netdevice_many, namespace by namespace in batch order.
    std::vector<std::string> gone;
    for (NetId id : held)
      for (const Device& d : devices_)
        if (d.net == id) gone.push_back(d.name);
    std::erase_if(devices_, [&](const Device& d) {
      return std::find(held.begin(), held.end(), d.net) != held.end();
    });
    batch.add("devices", uint64_t(gone.size()));
    unregister_netdevices(notifiers_, gone, out);
  }
  out.push_back(std::move(batch));
}

void NetnsModel::undo(const std::vector<const Pernet*>& ops, const std::vector<NetId>& ids,
                      std::vector<Event>& out) {
  for (const Pernet* p : ops) run_pre_exit(*p, ids, out);
  for (const Pernet* p : ops) run_exit(*p, ids, out);
  for (const Pernet* p : ops)
    for (NetId id : ids) nets_.at(id).data.erase(p->name);
}

// 1. setup_net
void NetnsModel::add(const std::string& name, std::vector<Event>& out) {
  const NetId id = next_id_++;
  nets_.emplace(id, Net{.name = name});
  std::vector<const Pernet*> done;
  for (const Pernet& p : pernet_) {
    if (run_init(p, id, out)) {
      done.insert(done.begin(), &p);
      continue;
    }
    undo(done, {id}, out);
    nets_.erase(id);
    out.push_back(pernet_event("netns-add-failed", "", label(name, id, false), id));
    return;
  }
  // Created: the name goes to the new namespace.
  NetId old;
  if (lookup(name, &old)) unbind(old);
  names_.emplace(name, id);
}

// 3. put_net
void NetnsModel::put(NetId id, std::vector<Event>& out) {
  Net& n = nets_.at(id);
  if (--n.count != 0) return;
  n.dying = true;
  cleanup_list_.push_back(id);
  out.push_back(pernet_event("netns-queued", "", label_of(id), id));
}

// 4. cleanup_net
void NetnsModel::cleanup(std::vector<Event>& out) {
  // llist_del_all hands the list over newest first.
  const std::vector<NetId> batch(cleanup_list_.rbegin(), cleanup_list_.rend());
  cleanup_list_.clear();
  out.push_back(cleanup_event(batch.size()));
  for (NetId id : batch) unbind(id);
  for (auto p = pernet_.rbegin(); p != pernet_.rend(); ++p) run_pre_exit(*p, batch, out);
  // synchronize_rcu(): one grace period for the whole batch.
  for (auto p = pernet_.rbegin(); p != pernet_.rend(); ++p) run_exit(*p, batch, out);
  for (NetId id : batch) nets_.at(id).data.clear();  // ops_free_list
  // rcu_barrier(), then the namespaces go, but not one still referenced.
  for (NetId id : batch) {
    if (auto h = holds_.find(id); h != holds_.end()) {
      out.push_back(cleanup_wait_event(label_of(id), id, h->second.size(), h->second.front()));
      waiting_.insert(id);
      continue;
    }
    out.push_back(pernet_event("netns-free", "", label_of(id), id));
    nets_.erase(id);
  }
}

void NetnsModel::hold(NetId id, std::string holder) {
  holds_[id].push_back(std::move(holder));
}

void NetnsModel::put_hold(NetId id, std::string_view holder, std::vector<Event>& out) {
  auto h = holds_.find(id);
  if (h == holds_.end()) return;
  std::vector<std::string>& held = h->second;
  if (auto it = std::find(held.begin(), held.end(), holder); it != held.end()) held.erase(it);
  if (!held.empty()) return;
  holds_.erase(h);
  if (!waiting_.erase(id)) return;
  out.push_back(pernet_event("netns-free", "", label_of(id), id));
  nets_.erase(id);
}

void NetnsModel::settle(std::vector<Event>& out) {
  if (!cleanup_list_.empty()) cleanup(out);
}

// 2. register_pernet_operations
bool NetnsModel::register_pernet(std::string name, PernetOps* ops, bool device) {
  std::vector<Event> ignored;  // a subsystem registers before the trace starts
  relabel_.push_back(ops);
  auto at = device ? pernet_.end()
                   : std::find_if(pernet_.begin(), pernet_.end(),
                                  [](const Pernet& p) { return p.device; });
  const Pernet& p = *pernet_.insert(at, {.name = std::move(name), .device = device, .ops = ops});
  for (auto& [id, n] : nets_) run_init(p, id, ignored);
  return true;
}

void NetnsModel::register_trace_op(const trace::Op& op, std::vector<Event>& out) {
  Pernet added{.name = op.name(fields::kPernetOp),
               .device = op.u_or(fields::kPernetDevice, 0) != 0};
  if (op.has(fields::kPernetFail)) added.fail = NetId(op.u(fields::kPernetFail));
  // A name registered twice (the trace's go lines reordered): the second
  // registration is refused.
  for (const Pernet& p : pernet_) {
    if (p.name != added.name) continue;
    out.push_back(register_failed_event(added.name));
    return;
  }
  auto at = added.device ? pernet_.end()
                         : std::find_if(pernet_.begin(), pernet_.end(),
                                        [](const Pernet& p) { return p.device; });
  const size_t index = size_t(at - pernet_.begin());
  pernet_.insert(at, added);
  const Pernet& p = pernet_[index];
  std::vector<NetId> done;
  for (const auto& [id, n] : nets_) {
    if (run_init(p, id, out)) {
      done.push_back(id);
      continue;
    }
    undo({&p}, done, out);
    out.push_back(register_failed_event(p.name));
    pernet_.erase(pernet_.begin() + index);
    return;
  }
}

void NetnsModel::unregister_trace_op(const std::string& name, std::vector<Event>& out) {
  auto it = std::find_if(pernet_.begin(), pernet_.end(),
                         [&](const Pernet& p) { return p.name == name && !p.ops; });
  if (it == pernet_.end()) return;  // its registration failed
  std::vector<NetId> ids;
  for (const auto& [id, n] : nets_) ids.push_back(id);
  undo({&*it}, ids, out);
  pernet_.erase(it);
}

void NetnsModel::apply(const trace::Op& op, std::vector<Event>& out) {
  NetId id;
  switch (op.spec->id) {
    case op_id("netns add"):
      add(op.name(fields::kName), out);
      break;
    case op_id("netns del"):
      // The name's user reference, dropped once.
      if (lookup(op.name(fields::kName), &id) && std::exchange(nets_.at(id).user_ref, false))
        put(id, out);
      break;
    case op_id("netns get"): {
      // A reference name the trace reuses names the new reference from now on.
      std::optional<NetId>& ref = refs_[op.name(fields::kGetRef)];
      ref.reset();
      if (lookup(op.name(fields::kGetNs), &id) && nets_.at(id).count > 0) {
        ++nets_.at(id).count;
        ref = id;
      }
      break;
    }
    case op_id("netns maybe_get"): {
      std::optional<NetId>& ref = refs_[op.name(fields::kMaybeRef)];
      ref.reset();
      const NetId want = NetId(op.u(fields::kMaybeNsid));
      auto it = nets_.find(want);
      const bool ok = it != nets_.end() && it->second.count > 0;
      if (ok) {
        ++it->second.count;
        ref = want;
      }
      out.push_back(maybe_get_event(want, ok));
      break;
    }
    case op_id("netns put"): {
      auto it = refs_.find(op.name(fields::kPutRef));
      if (it == refs_.end()) break;
      if (it->second) put(*it->second, out);
      refs_.erase(it);
      break;
    }
    case op_id("pernet register"):
      register_trace_op(op, out);
      break;
    case op_id("pernet unregister"):
      unregister_trace_op(op.name(fields::kPernetOp), out);
      break;
    case op_id("dev add"):
      // A device name in use (go lines reordered) is refused, as
      // register_netdevice refuses a duplicate.
      if (find_device(op.name(fields::kDevName)) == devices_.end() &&
          lookup(op.name(fields::kDevNs), &id)) {
        devices_.push_back({op.name(fields::kDevName), id, op.u_or(fields::kDevPhys, 0) != 0});
        out.push_back(device_event("dev-add", op.name(fields::kDevName), label_of(id)));
        call_netdevice_notifiers(notifiers_, NetdevEvent::kRegister, op.name(fields::kDevName),
                                 out);
      }
      break;
    // A device of a dying namespace is out of the trace's reach: it goes
    // with its namespace (in the kernel, no user space handle on a namespace
    // whose last reference went is left to reach it through).
    case op_id("dev del"): {
      auto dev = find_device(op.name(fields::kDevDelName));
      if (dev == devices_.end() || nets_.at(dev->net).dying) break;
      out.push_back(device_event("dev-del", dev->name, label_of(dev->net)));
      const std::string name = dev->name;
      devices_.erase(dev);
      unregister_netdevices(notifiers_, {&name, 1}, out);
      break;
    }
    case op_id("dev down"): {
      auto dev = find_device(op.name(fields::kDownName));
      if (dev == devices_.end() || nets_.at(dev->net).dying) break;
      out.push_back(device_event("dev-down", dev->name, label_of(dev->net)));
      call_netdevice_notifiers(notifiers_, NetdevEvent::kDown, dev->name, out);
      break;
    }
    case op_id("dev move"): {
      // dev_change_net_namespace: the device leaves its namespace's list and
      // joins the tail of the other's.
      auto dev = find_device(op.name(fields::kMoveName));
      if (dev == devices_.end() || nets_.at(dev->net).dying ||
          !lookup(op.name(fields::kMoveNs), &id) || nets_.at(id).dying)
        break;
      Device moved = *dev;
      devices_.erase(dev);
      moved.net = id;
      out.push_back(device_event("dev-move", moved.name, label_of(id)));
      devices_.push_back(std::move(moved));
      break;
    }
  }
}

NetGauges NetnsModel::gauges(NetId id) const {
  const Net& n = nets_.at(id);
  NetGauges g{.refs = n.count, .dying = n.dying, .pernet = n.data.size()};
  for (const Device& d : devices_) g.devices += d.net == id;
  g.holds = holds_on(id);
  return g;
}

size_t NetnsModel::holds_on(NetId id) const {
  auto h = holds_.find(id);
  return h == holds_.end() ? 0 : h->second.size();
}

uint64_t NetnsModel::digest_of(NetId id) const {
  return gauges(id).digest(label_of(id));
}

void NetnsModel::snapshot(trace::Snapshot& out) const {
  for (const auto& [id, n] : nets_) gauges(id).add_to(out, label_of(id));
}

void NetnsModel::snapshot(std::string_view ns, trace::Snapshot& out) const {
  if (NetId id; lookup(ns, &id)) gauges(id).add_to(out, label_of(id));
}

uint64_t NetnsModel::digest() const {
  uint64_t sum = 0;
  for (const auto& [id, n] : nets_) sum += digest_of(id);
  return sum;
}

uint64_t NetnsModel::digest(std::string_view ns) const {
  NetId id;
  return lookup(ns, &id) ? digest_of(id) : 0;
}

std::string NetnsModel::describe() const {
  std::string out = "netns: " + std::to_string(nets_.size()) + " namespaces, " +
                    std::to_string(cleanup_list_.size()) + " on the cleanup list; pernet:";
  for (const Pernet& p : pernet_) out += " " + p.name + (p.device ? "(dev)" : "");
  out += "\n";
  // One line per namespace, then the references: NetnsImpl writes the same.
  for (const auto& [id, n] : nets_) {
    out += "  " + label_of(id) + " nsid=" + std::to_string(id) +
           " refs=" + std::to_string(n.count) + " user=" + std::to_string(n.user_ref) +
           " dying=" + std::to_string(n.dying) + " holds=" + std::to_string(holds_on(id)) +
           " data=";
    for (const std::string& op : n.data) out += op + ",";
    out += " devices=";
    for (const Device& d : devices_)
      if (d.net == id) out += d.name + (d.phys ? "(phys)," : ",");
    out += "\n";
  }
  out += "  refs:";
  for (const auto& [ref, id] : refs_) out += " " + ref + "=" + (id ? std::to_string(*id) : "-");
  return out + "\n";
}

}  // namespace nv::netns
