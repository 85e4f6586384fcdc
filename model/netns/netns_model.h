// The reference model of network-namespace lifetime and batched teardown
// (net/core/net_namespace.c and the default device exit in net/core/dev.c,
// Linux 6.x), written to be checked by eye against the kernel.
//
// State is plain values: namespaces by identity with their reference count,
// bound name, devices and the pernet operations whose data they hold; the
// ordered pernet list; the cleanup list. Each step is one numbered rule
// naming the kernel function it mirrors:
//
//   1. setup_net: inits run in list order; a failing init unwinds the ones
//      that ran, in reverse (pre_exit, exit, exit_batch, free), and the
//      namespace is never linked.
//   2. register_pernet_subsys inserts before the first device operation,
//      register_pernet_device appends: every subsystem operation stands
//      before every device operation, each class in registration order.
//      Registering runs the init on every linked namespace (unwinding on a
//      failure); unregistering runs its pre_exit, exit, exit_batch and free.
//   3. put_net: the last reference puts the namespace on the cleanup list;
//      maybe_get_net fails once the count is 0.
//   4. cleanup_net, one pass over the whole list as one batch: unlink every
//      namespace (its name is unbound); pre_exit of every operation in
//      reverse list order over the batch; one grace period; for every
//      operation in reverse list order, exit over the batch then exit_batch
//      once; the per-namespace data freed only after every exit ran; then
//      the namespaces freed, but one that an outside reference still holds
//      (hold: a conntrack entry of a deferred skb) waits, and the put that
//      drops its last one frees it.
//   5. default_device_exit: the first device operation moves a dying
//      namespace's physical devices back to init (exit) and unregisters
//      every other device of the batch in one batch (exit_batch).
//
// The kernel runs the cleanup pass on a workqueue; the model runs it when
// the system settles (Engine::settle), which is when the work must have run.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::netns {

class NetnsModel final : public trace::Engine, public PernetHost {
 public:
  NetnsModel();

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void settle(std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  void snapshot(std::string_view ns, trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  std::unique_ptr<trace::Engine> clone(
      const std::function<trace::Engine*(std::string_view)>& deps) const override;
  uint64_t fingerprint() const override;

  bool register_pernet(std::string name, PernetOps* ops, bool device) override;
  bool lookup(std::string_view name, NetId* id) const override;
  void rebind(PernetOps* from, PernetOps* to) override;
  void hold(NetId id, std::string holder) override;
  void put_hold(NetId id, std::string_view holder, std::vector<trace::Event>& out) override;
  void register_netdevice_notifier(NetdevNotifier* n) override { notifiers_.push_back(n); }
  void rebind_notifier(NetdevNotifier* from, NetdevNotifier* to) override;

 private:
  struct Net {
    std::string name;
    bool bound = true;           // the name still refers to this namespace
    uint32_t count = 1;          // net->ns.count
    bool user_ref = true;        // the name's reference, until netns del drops it
    bool dying = false;          // on the cleanup list (count reached 0)
    std::set<std::string> data;  // operations whose init ran and whose data is not freed
  };
  struct Device {
    std::string name;
    NetId net;
    bool phys;
  };
  // One pernet operation: a subsystem's (ops set) or one the trace defined.
  struct Pernet {
    std::string name;
    bool device = false;
    PernetOps* ops = nullptr;
    std::optional<NetId> fail;  // a trace operation's init fails for this namespace
  };

  std::string label_of(NetId id) const;
  bool run_init(const Pernet& p, NetId id, std::vector<trace::Event>& out);
  // Undoes `ops` (in the order given) for `ids`, as a failed init or an
  // unregistration does: pre_exit, a grace period, exit and exit_batch, free.
  void undo(const std::vector<const Pernet*>& ops, const std::vector<NetId>& ids,
            std::vector<trace::Event>& out);
  void run_pre_exit(const Pernet& p, const std::vector<NetId>& ids, std::vector<trace::Event>& out);
  void run_exit(const Pernet& p, const std::vector<NetId>& ids, std::vector<trace::Event>& out);
  void add(const std::string& name, std::vector<trace::Event>& out);
  void put(NetId id, std::vector<trace::Event>& out);
  void cleanup(std::vector<trace::Event>& out);
  void register_trace_op(const trace::Op& op, std::vector<trace::Event>& out);
  void unregister_trace_op(const std::string& name, std::vector<trace::Event>& out);
  void unbind(NetId id);
  std::vector<Device>::iterator find_device(std::string_view name);
  NetGauges gauges(NetId id) const;
  // How many references other subsystems hold on the namespace (holds_).
  size_t holds_on(NetId id) const;
  uint64_t digest_of(NetId id) const;

  std::map<NetId, Net> nets_;  // linked or dying, not yet freed
  // Each bound name's namespace: names_[n.name] == id exactly when nets_[id]
  // is bound and its creation has finished (during its inits a new
  // namespace is labelled by its name, which is not yet taken from the old).
  std::map<std::string, NetId, std::less<>> names_;
  std::vector<Pernet> pernet_;                        // the pernet list, in order
  std::vector<NetId> cleanup_list_;                   // in the order the last references went
  std::map<std::string, std::optional<NetId>> refs_;  // a failed get holds nothing
  // Every device, each namespace's in the order they joined it (as its
  // dev_base_head list).
  std::vector<Device> devices_;
  std::vector<PernetOps*> relabel_;  // subsystem operations, told of renames
  // Outside references by namespace, oldest first; namespaces a cleanup
  // pass left waiting for them (freed by the last put_hold).
  std::map<NetId, std::vector<std::string>> holds_;
  std::set<NetId> waiting_;
  std::vector<NetdevNotifier*> notifiers_;
  NetId next_id_ = 1;
};

}  // namespace nv::netns
