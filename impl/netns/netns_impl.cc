#include "impl/netns/netns_impl.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>

#include "sched/rcu.h"

namespace nv::netns {

using trace::Event;
using trace::op_id;

NetnsImpl::NetnsImpl(MutantSet mutants, trace::DeferredLog* deferred, Cleanup cleanup)
    : deferred_(deferred),
      first_device_(pernet_.end()),
      mutants_(mutants),
      cleanup_(cleanup),
      test_mode_(sched::current_scheduler() != nullptr) {
  init_net_ = new Net;
  init_net_->id = kInitNet;
  init_net_->name = "init";
  net_list_.push_back(*init_net_);
  by_name_["init"] = init_net_;
  by_id_[kInitNet] = init_net_;
  // default_device_ops: the first device operation, registered at boot.
  auto p = std::make_unique<Pernet>();
  p->name = std::string(kDefaultDevice);
  p->device = true;
  std::vector<Event> ignored;
  ops_init(insert_pernet(std::move(p)), *init_net_, ignored);
}

NetnsImpl::~NetnsImpl() {
  // A production worker may still run a pass: let it finish first. Under a
  // scheduler, the runner ends the scheduler (and its worker thread) before
  // the engines.
  if (!test_mode_) drain();
  for (auto& [name, dev] : devs_)
    if (dev->dev_list.is_linked()) dev->net->devices.erase(dev->net->devices.iterator_to(*dev));
  pernet_.clear();
  std::vector<Net*> nets;
  for (auto& [id, n] : by_id_) nets.push_back(n);
  for (Net* n = cleanup_head_.load(std::memory_order_acquire); n; n = n->cleanup_next)
    if (!by_id_.count(n->id)) nets.push_back(n);
  net_list_.clear();
  for (Net* n : nets) delete n;
}

NetnsImpl::Net* NetnsImpl::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

// The receive path's lookup (a subsystem finding the namespace of an
// incoming packet), lock-free as the kernel's RCU lookups are: in test mode
// one thread runs at a time and every writer of by_name_ changes it between
// two scheduling points, so a lookup sees it whole and is atomic with the
// work its caller does before its next point. In production it must not
// race with namespace creation or teardown (the trace path runs under the
// runner's scheduler; benchmarks settle before they look up).
bool NetnsImpl::lookup(std::string_view name, NetId* id) const {
  const Net* n = find(name);
  if (n) *id = n->id;
  return n != nullptr;
}

void NetnsImpl::unbind(Net& n) {
  if (!n.bound) return;
  by_name_.erase(n.name);
  n.bound = false;
  for (PernetOps* ops : subsystems_) ops->relabel(n.id, label_of(n));
}

// register_pernet_subsys inserts before the first device operation,
// register_pernet_device appends.
NetnsImpl::Pernet& NetnsImpl::insert_pernet(std::unique_ptr<Pernet> p) {
  p->id = uint32_t(pernet_store_.size());
  Pernet& ref = *p;
  pernet_store_.push_back(std::move(p));
  if (ref.device) {
    pernet_.push_back(ref);
    if (first_device_ == pernet_.end()) first_device_ = pernet_.iterator_to(ref);
  } else {
    pernet_.insert(first_device_, ref);
  }
  return ref;
}

bool NetnsImpl::ops_init(Pernet& p, Net& n, std::vector<Event>& out) {
  const bool ok = p.ops ? p.ops->init(n.id, label_of(n)) : p.fail != n.id;
  out.push_back(pernet_event(ok ? "pernet-init" : "pernet-init-failed", p.name, label_of(n), n.id));
  if (ok) {
    if (n.gen.size() <= p.id) n.gen.resize(p.id + 1);
    n.gen[p.id] = 1;
  }
  return ok;
}

void NetnsImpl::ops_pre_exit(Pernet& p, const std::vector<Net*>& nets, std::vector<Event>& out) {
  for (Net* n : nets) {
    if (!holds(*n, p)) continue;
    if (p.ops) p.ops->pre_exit(n->id);
    out.push_back(pernet_event("pernet-pre-exit", p.name, label_of(*n), n->id));
  }
}

uint64_t NetnsImpl::data_held(const Net& n) {
  uint64_t held = 0;
  for (uint8_t g : n.gen) held += g;
  return held;
}

// ops_exit_list: exit over the batch, then exit_batch once. Each exit
// reports how many operations' data its namespace still holds: all of them
// until ops_free_list runs after every exit.
void NetnsImpl::ops_exit(Pernet& p, const std::vector<Net*>& nets, std::vector<Event>& out) {
  std::vector<NetId> held;
  std::vector<uint8_t> exited(nets.size(), 0);  // by position in `nets`
  const bool default_device = p.device && p.name == kDefaultDevice;
  for (size_t i = 0; i < nets.size(); ++i) {
    Net* n = nets[i];
    if (!holds(*n, p)) continue;
    held.push_back(n->id);
    exited[i] = 1;
    if (p.ops) p.ops->exit(n->id);
    if (default_device && !mutants_.has(NetnsMutant::kPhysDevDeleted)) {
      // default_device_exit_net: physical devices go home to init.
      std::lock_guard lock(net_mutex_);
      for (auto it = n->devices.begin(); it != n->devices.end();) {
        Dev& d = *it;
        if (!d.phys) {
          ++it;
          continue;
        }
        it = n->devices.erase(it);
        d.net = init_net_;
        init_net_->devices.push_back(d);
        out.push_back(device_event("dev-move", d.name, "init"));
      }
    }
    out.push_back(
        pernet_event("pernet-exit", p.name, label_of(*n), n->id).add("data", data_held(*n)));
  }
  if (held.empty()) return;
  if (mutants_.has(NetnsMutant::kDataFreedEarly))
    for (Net* n : nets)
      if (holds(*n, p)) n->gen[p.id] = 0;
  if (p.ops) p.ops->exit_batch(held);
  Event batch = exit_batch_event(p.name, held.size());
  if (default_device) {
    // default_device_exit_batch: one unregister_netdevice_many for the batch.
    std::lock_guard lock(net_mutex_);
    std::vector<std::string> gone;
    for (size_t i = 0; i < nets.size(); ++i) {
      if (!exited[i]) continue;
      nets[i]->devices.clear_and_dispose([&](Dev* d) {
        gone.push_back(d->name);
        devs_.erase(d->name);
      });
    }
    batch.add("devices", uint64_t(gone.size()));
    unregister_netdevices(notifiers_, gone, out);
  }
  out.push_back(std::move(batch));
}

void NetnsImpl::ops_undo(const std::vector<Pernet*>& ops, const std::vector<Net*>& nets,
                         std::vector<Event>& out) {
  for (Pernet* p : ops) ops_pre_exit(*p, nets, out);
  for (Pernet* p : ops) ops_exit(*p, nets, out);
  for (Pernet* p : ops)  // ops_free_list
    for (Net* n : nets)
      if (holds(*n, *p)) n->gen[p->id] = 0;
}

// copy_net_ns / setup_net: inits in list order under pernet_rwsem_ (read);
// the name moves to the new namespace when it is linked.
void NetnsImpl::setup_net(const std::string& name, std::vector<Event>& out) {
  // One setup at a time, so that a namespace's identity and its name's
  // binding are taken at once (the old kernels' net_mutex).
  std::lock_guard setup(setup_mutex_);
  std::shared_lock pernet(pernet_rwsem_);
  auto n = std::make_unique<Net>();
  n->name = name;
  {
    std::lock_guard lock(net_mutex_);
    n->id = next_id_++;
  }
  std::vector<Pernet*> done;  // newest first, as the unwind runs
  for (Pernet& p : pernet_) {
    if (ops_init(p, *n, out)) {
      done.insert(done.begin(), &p);
      continue;
    }
    ops_undo(done, {n.get()}, out);
    out.push_back(pernet_event("netns-add-failed", "", label(name, n->id, false), n->id));
    return;
  }
  std::lock_guard lock(net_mutex_);
  if (Net* old = find(name)) unbind(*old);
  Net* net = n.release();
  net_list_.push_back(*net);
  by_name_[name] = net;
  by_id_[net->id] = net;
}

// put_net: the last reference queues the namespace and kicks the worker.
// The caller holds net_mutex_, so that the namespace it found and the label
// the event carries are those of one instant.
void NetnsImpl::put_net(Net& n, std::vector<Event>& out) {
  if (!n.count.dec_and_test()) return;
  n.dying = true;
  if (mutants_.has(NetnsMutant::kPutNoCleanup)) return;
  // llist_add: push onto the lock-free cleanup list.
  Net* head = cleanup_head_.load(std::memory_order_relaxed);
  do {
    n.cleanup_next = head;
  } while (!cleanup_head_.compare_exchange_weak(head, &n, std::memory_order_release,
                                                std::memory_order_relaxed));
  out.push_back(pernet_event("netns-queued", "", label_of(n), n.id));
  netns_wq_.queue_work(cleanup_work_);
}

void NetnsImpl::cleanup_work() {
  std::vector<Event> dropped;
  std::vector<Event>& out = deferred_ ? deferred_->begin() : dropped;
  cleanup_net(out);
  if (deferred_) deferred_->end();
}

// cleanup_net: the whole list as one batch (Cleanup::kOneAtATime: its
// newest namespace alone), under pernet_rwsem_ (read) so that no
// registration runs in the middle of it.
void NetnsImpl::cleanup_net(std::vector<Event>& out) {
  const bool racy = mutants_.has(NetnsMutant::kRegisterRace);
  std::shared_lock pernet(pernet_rwsem_);
  std::vector<Net*> batch;
  if (cleanup_ == Cleanup::kOneAtATime) {
    // llist_del_first: safe against concurrent llist_add because this worker
    // is the list's only consumer (no node leaves it and comes back: no ABA).
    // The acquire pairs with put_net's release CAS, as below.
    Net* n = cleanup_head_.load(std::memory_order_acquire);
    while (n && !cleanup_head_.compare_exchange_weak(n, n->cleanup_next, std::memory_order_acquire,
                                                     std::memory_order_acquire)) {
    }
    if (n) batch.push_back(n);
  } else {
    for (Net* n = cleanup_head_.exchange(nullptr, std::memory_order_acquire); n;
         n = n->cleanup_next)
      batch.push_back(n);  // llist_del_all: newest first
  }
  if (batch.empty()) return;
  out.push_back(cleanup_event(batch.size()));
  // Don't let anyone else find us: unbind the names and unlink from
  // net_namespace_list (the racy mutant leaves the batch listed, where a
  // registration finds it, until the end); then every pre_exit, with no
  // scheduling point in between, so that nothing sees a namespace that is
  // unnamed but not yet closed (the model does all of a pass at once).
  auto unlink = [&] {
    for (Net* n : batch)
      if (n->list.is_linked()) net_list_.erase(net_list_.iterator_to(*n));
  };
  {
    std::lock_guard lock(net_mutex_);
    for (Net* n : batch) unbind(*n);
    if (!racy) unlink();
    for (auto p = pernet_.rbegin(); p != pernet_.rend(); ++p) ops_pre_exit(*p, batch, out);
  }
  // One grace period for the whole batch: no reader still sees the state
  // pre_exit closed.
  sched::synchronize_rcu();
  if (mutants_.has(NetnsMutant::kExitForward)) {
    for (Pernet& p : pernet_) ops_exit(p, batch, out);
  } else {
    for (auto p = pernet_.rbegin(); p != pernet_.rend(); ++p) {
      ops_exit(*p, batch, out);
      if (racy) {  // "let registration in between exits"
        pernet.unlock();
        pernet.lock();
      }
    }
  }
  if (racy) {
    std::lock_guard lock(net_mutex_);
    unlink();
  }
  for (Net* n : batch) std::fill(n->gen.begin(), n->gen.end(), 0);  // ops_free_list
  pernet.unlock();
  // rcu_barrier(): every call_rcu of the exits has run; then the namespaces go.
  sched::rcu_barrier();
  std::lock_guard lock(net_mutex_);
  for (Net* n : batch) {
    {
      std::lock_guard held(holds_lock_);
      if (auto h = holds_.find(n->id); h != holds_.end()) {
        out.push_back(cleanup_wait_event(label_of(*n), n->id, h->second.size(), h->second.front()));
        waiting_.insert(n->id);
        continue;
      }
    }
    out.push_back(pernet_event("netns-free", "", label_of(*n), n->id));
    by_id_.erase(n->id);
    delete n;
  }
  // The old design's other work items, one per namespace still queued.
  if (cleanup_ == Cleanup::kOneAtATime && cleanup_head_.load(std::memory_order_relaxed))
    netns_wq_.queue_work(cleanup_work_);
}

void NetnsImpl::hold(NetId id, std::string holder) {
  std::lock_guard held(holds_lock_);
  holds_[id].push_back(std::move(holder));
}

void NetnsImpl::put_hold(NetId id, std::string_view holder, std::vector<Event>& out) {
  {
    std::lock_guard held(holds_lock_);
    auto h = holds_.find(id);
    if (h == holds_.end()) return;
    std::vector<std::string>& list = h->second;
    if (auto it = std::find(list.begin(), list.end(), holder); it != list.end()) list.erase(it);
    if (!list.empty()) return;
    holds_.erase(h);
    if (!waiting_.erase(id)) return;
  }
  // The last reference of a namespace its pass left waiting: free it now.
  std::lock_guard lock(net_mutex_);
  Net* n = by_id_.at(id);
  out.push_back(pernet_event("netns-free", "", label_of(*n), n->id));
  by_id_.erase(id);
  delete n;
}

// flush_workqueue waits only for the items queued before it: a requeued
// one-at-a-time pass may run after it returns, with the list already empty
// (it took the last namespace). So flush until a flush runs nothing: then
// no item was queued or running when it began.
void NetnsImpl::drain() {
  if (cleanup_ == Cleanup::kBatched) return netns_wq_.flush();
  uint64_t ran;
  do {
    ran = netns_wq_.executed();
    netns_wq_.flush();
  } while (netns_wq_.executed() != ran || cleanup_head_.load(std::memory_order_acquire));
}

void NetnsImpl::settle(std::vector<Event>&) {
  if (!sched::current_scheduler()) drain();
}

bool NetnsImpl::register_pernet(std::string name, PernetOps* ops, bool device) {
  std::lock_guard pernet(pernet_rwsem_);
  subsystems_.push_back(ops);
  auto p = std::make_unique<Pernet>();
  p->name = std::move(name);
  p->device = device;
  p->ops = ops;
  Pernet& added = insert_pernet(std::move(p));
  std::vector<Event> ignored;  // a subsystem registers before the trace starts
  for (Net& n : net_list_) ops_init(added, n, ignored);
  return true;
}

void NetnsImpl::register_trace_op(const trace::Op& op, std::vector<Event>& out) {
  std::lock_guard pernet(pernet_rwsem_);
  const std::string& name = op.name(fields::kPernetOp);
  if (std::any_of(pernet_.begin(), pernet_.end(),
                  [&](const Pernet& p) { return p.name == name; })) {  // a name twice: refused
    out.push_back(register_failed_event(name));
    return;
  }
  auto p = std::make_unique<Pernet>();
  p->name = op.name(fields::kPernetOp);
  p->device = op.u_or(fields::kPernetDevice, 0) != 0;
  if (op.has(fields::kPernetFail)) p->fail = NetId(op.u(fields::kPernetFail));
  Pernet& added = insert_pernet(std::move(p));
  std::vector<Net*> nets;
  {
    std::lock_guard lock(net_mutex_);
    for (Net& n : net_list_) nets.push_back(&n);
  }
  std::vector<Net*> done;
  for (Net* n : nets) {
    if (ops_init(added, *n, out)) {
      done.push_back(n);
      continue;
    }
    ops_undo({&added}, done, out);
    out.push_back(register_failed_event(added.name));
    if (first_device_ == pernet_.iterator_to(added)) first_device_ = std::next(first_device_);
    pernet_.erase(pernet_.iterator_to(added));
    return;
  }
  trace_ops_[added.name] = &added;
}

void NetnsImpl::unregister_trace_op(const std::string& name, std::vector<Event>& out) {
  std::lock_guard pernet(pernet_rwsem_);
  auto it = trace_ops_.find(name);
  if (it == trace_ops_.end()) return;  // its registration failed
  Pernet& p = *it->second;
  trace_ops_.erase(it);
  std::vector<Net*> nets;
  {
    std::lock_guard lock(net_mutex_);
    for (Net& n : net_list_) nets.push_back(&n);
  }
  ops_undo({&p}, nets, out);
  if (first_device_ == pernet_.iterator_to(p)) first_device_ = std::next(first_device_);
  pernet_.erase(pernet_.iterator_to(p));
}

void NetnsImpl::apply(const trace::Op& op, std::vector<Event>& out) {
  switch (op.spec->id) {
    case op_id("netns add"):
      setup_net(op.name(fields::kName), out);
      break;
    case op_id("netns del"): {
      // The name's user reference, dropped once.
      std::lock_guard lock(net_mutex_);
      Net* n = find(op.name(fields::kName));
      if (!n || !n->user_ref) break;
      n->user_ref = false;
      put_net(*n, out);
      break;
    }
    case op_id("netns get"): {
      std::lock_guard lock(net_mutex_);
      Net* n = find(op.name(fields::kGetNs));
      // get_net on a dying namespace would resurrect it: the trace's get is
      // refcount_inc_not_zero, and a refused one holds nothing.
      refs_[op.name(fields::kGetRef)] = n && n->count.inc_not_zero() ? n : nullptr;
      break;
    }
    case op_id("netns maybe_get"): {
      const NetId want = NetId(op.u(fields::kMaybeNsid));
      std::lock_guard lock(net_mutex_);
      auto it = by_id_.find(want);
      Net* n = it == by_id_.end() ? nullptr : it->second;
      bool ok = false;
      if (n && mutants_.has(NetnsMutant::kMaybeGetDying)) {
        n->count.inc();  // refcount_inc: from 0 it is a use after free
        ok = true;
      } else if (n) {
        ok = n->count.inc_not_zero();  // maybe_get_net
      }
      refs_[op.name(fields::kMaybeRef)] = ok ? n : nullptr;
      out.push_back(maybe_get_event(want, ok));
      break;
    }
    case op_id("netns put"): {
      std::lock_guard lock(net_mutex_);
      auto it = refs_.find(op.name(fields::kPutRef));
      if (it == refs_.end()) break;
      Net* n = it->second;
      refs_.erase(it);
      if (n) put_net(*n, out);
      break;
    }
    case op_id("pernet register"):
      register_trace_op(op, out);
      break;
    case op_id("pernet unregister"):
      unregister_trace_op(op.name(fields::kPernetOp), out);
      break;
    case op_id("dev add"): {
      std::lock_guard lock(net_mutex_);
      Net* n = find(op.name(fields::kDevNs));
      if (n && !devs_.count(op.name(fields::kDevName))) {
        auto d = std::make_unique<Dev>();
        d->name = op.name(fields::kDevName);
        d->net = n;
        d->phys = op.u_or(fields::kDevPhys, 0) != 0;
        n->devices.push_back(*d);
        out.push_back(device_event("dev-add", d->name, label_of(*n)));
        call_netdevice_notifiers(notifiers_, NetdevEvent::kRegister, d->name, out);
        devs_[d->name] = std::move(d);
      }
      break;
    }
    // Out of reach in a dying namespace, as in the model; put_net sets
    // dying under net_mutex_, so the check and the change are one instant.
    case op_id("dev del"): {
      std::lock_guard lock(net_mutex_);
      auto it = devs_.find(op.name(fields::kDevDelName));
      if (it == devs_.end() || it->second->net->dying) break;
      Dev& d = *it->second;
      out.push_back(device_event("dev-del", d.name, label_of(*d.net)));
      d.net->devices.erase(d.net->devices.iterator_to(d));
      const std::string name = d.name;
      devs_.erase(it);
      unregister_netdevices(notifiers_, {&name, 1}, out);
      break;
    }
    case op_id("dev down"): {
      std::lock_guard lock(net_mutex_);
      auto it = devs_.find(op.name(fields::kDownName));
      if (it == devs_.end() || it->second->net->dying) break;
      Dev& d = *it->second;
      out.push_back(device_event("dev-down", d.name, label_of(*d.net)));
      call_netdevice_notifiers(notifiers_, NetdevEvent::kDown, d.name, out);
      break;
    }
    case op_id("dev move"): {
      std::lock_guard lock(net_mutex_);
      auto it = devs_.find(op.name(fields::kMoveName));
      Net* to = find(op.name(fields::kMoveNs));
      if (it == devs_.end() || it->second->net->dying || !to || to->dying) break;
      Dev& d = *it->second;
      d.net->devices.erase(d.net->devices.iterator_to(d));
      d.net = to;
      to->devices.push_back(d);
      out.push_back(device_event("dev-move", d.name, label_of(*to)));
      break;
    }
  }
    // The invariants span every namespace: checked where no other thread can
    // be half-way through changing them (production, or the scheduler's own
    // context), never as an extra scheduling point that debug builds alone
    // would have.
#ifndef NDEBUG
  sched::Scheduler* s = sched::current_scheduler();
  if (!s || !s->in_thread()) {
    // In production the worker may be in a pass: check under its locks.
    std::shared_lock pernet(pernet_rwsem_);
    std::lock_guard lock(net_mutex_);
    if (auto e = find_invariant_violation()) {
      std::fprintf(stderr, "netverify: NetnsImpl invariant broken: %s\n%s", e->c_str(),
                   describe().c_str());
      std::abort();
    }
  }
#endif
}

NetGauges NetnsImpl::gauges(const Net& n) const {
  NetGauges g{.refs = n.count.read(), .dying = n.dying, .devices = n.devices.size()};
  for (uint8_t held : n.gen) g.pernet += held;
  g.holds = holds_on(n);
  return g;
}

size_t NetnsImpl::holds_on(const Net& n) const {
  auto h = holds_.find(n.id);
  return h == holds_.end() ? 0 : h->second.size();
}

void NetnsImpl::snapshot(trace::Snapshot& out) const {
  for (const auto& [id, n] : by_id_) gauges(*n).add_to(out, label_of(*n));
}

void NetnsImpl::snapshot(std::string_view ns, trace::Snapshot& out) const {
  if (const Net* n = find(ns)) gauges(*n).add_to(out, label_of(*n));
}

uint64_t NetnsImpl::digest() const {
  uint64_t sum = 0;
  for (const auto& [id, n] : by_id_) sum += gauges(*n).digest(label_of(*n));
  return sum;
}

uint64_t NetnsImpl::digest(std::string_view ns) const {
  const Net* n = find(ns);
  return n ? gauges(*n).digest(label_of(*n)) : 0;
}

std::string NetnsImpl::describe() const {
  size_t queued = 0;
  for (Net* n = cleanup_head_.load(std::memory_order_acquire); n; n = n->cleanup_next) ++queued;
  std::string out = "netns: " + std::to_string(by_id_.size()) + " namespaces, " +
                    std::to_string(queued) + " on the cleanup list; pernet:";
  for (const Pernet& p : pernet_) out += " " + p.name + (p.device ? "(dev)" : "");
  out += "\n";
  // NetnsModel::describe's format, line for line.
  std::vector<const Net*> nets;
  for (const auto& [id, n] : by_id_) nets.push_back(n);
  std::sort(nets.begin(), nets.end(), [](const Net* a, const Net* b) { return a->id < b->id; });
  for (const Net* n : nets) {
    out += "  " + label_of(*n) + " nsid=" + std::to_string(n->id) +
           " refs=" + std::to_string(n->count.read()) + " user=" + std::to_string(n->user_ref) +
           " dying=" + std::to_string(n->dying) + " holds=" + std::to_string(holds_on(*n)) +
           " data=";
    std::vector<std::string> data;
    for (const auto& p : pernet_store_)
      if (holds(*n, *p)) data.push_back(p->name);
    std::sort(data.begin(), data.end());
    for (const std::string& op : data) out += op + ",";
    out += " devices=";
    for (const Dev& d : n->devices) out += d.name + (d.phys ? "(phys)," : ",");
    out += "\n";
  }
  std::vector<std::pair<std::string, const Net*>> refs(refs_.begin(), refs_.end());
  std::sort(refs.begin(), refs.end());
  out += "  refs:";
  for (const auto& [ref, n] : refs) out += " " + ref + "=" + (n ? std::to_string(n->id) : "-");
  return out + "\n";
}

std::optional<std::string> NetnsImpl::find_invariant_violation() const {
  const Net* prev = nullptr;
  for (const Net& n : net_list_) {
    if (prev && n.id <= prev->id) return "net_namespace_list: not in creation order";
    prev = &n;
    auto it = by_id_.find(n.id);
    if (it == by_id_.end() || it->second != &n) return "by_id: a linked namespace is missing";
    for (const Dev& d : n.devices)
      if (d.net != &n) return "device " + d.name + " on another namespace's list";
  }
  for (const auto& [name, n] : by_name_)
    if (!n->bound || n->name != name) return "by_name: " + name + " is not bound to its namespace";
  for (Net* n = cleanup_head_.load(std::memory_order_acquire); n; n = n->cleanup_next)
    if (n->count.read() != 0 || !n->dying) return "cleanup list: a namespace with references";
  auto first =
      std::find_if(pernet_.begin(), pernet_.end(), [](const Pernet& p) { return p.device; });
  if (first != first_device_) return "pernet list: first_device is not the first device operation";
  if (std::any_of(first, pernet_.end(), [](const Pernet& p) { return !p.device; }))
    return "pernet list: a subsystem operation after a device operation";
  return std::nullopt;
}

}  // namespace nv::netns
