// NetnsImpl: network-namespace lifetime and batched teardown, built the way
// net/core/net_namespace.c builds it: intrusive lists, an atomic reference
// count per namespace, a lock-free cleanup list handed whole to one worker,
// per-namespace pernet data indexed by operation id (net_generic), and each
// namespace's devices on a list of its own so that a batch unregisters its
// devices without looking at anyone else's.
//
// Invariants (find_invariant_violation checks them, after every operation
// in debug builds):
//   * net_list_ holds, in creation order, every namespace that is neither
//     unlinked by a cleanup pass nor freed; by_id_ maps each of them and
//     every namespace of a running pass to itself;
//   * by_name_ maps a name to the one namespace it is bound to (bound and
//     name agree); a namespace on the cleanup list has count 0 and dying;
//   * the pernet list holds every subsystem operation before every device
//     operation (first_device_ is the first device operation or end());
//   * a namespace's gen[i] is set iff operation i's init ran on it and its
//     data was not freed; its device list holds exactly the devices whose
//     net is it.
//
// Concurrency, as the kernel's: the trace's operations run on threads of
// their own and the cleanup pass on the "netns" workqueue's worker (threads
// of the scheduler in tests, real threads in production, sched/).
//   * pernet_rwsem_ (pernet_ops_rwsem): written by pernet registration,
//     read by setup_net and by a whole cleanup pass, so that registration
//     excludes both; it guards the pernet list and every Net::gen.
//   * setup_mutex_: one setup_net at a time, so that a namespace's identity
//     (next_id_) and its name's binding are taken in one order;
//   * net_mutex_ (net_rwsem and RTNL in one): guards net_list_, by_name_,
//     by_id_, refs_, devs_ and every device list; taken inside pernet_rwsem_.
//   * count is a refcount_t (sched::Refcount); the cleanup list is a
//     lock-free llist.
//   * A pass waits one grace period between pre_exit and exit and one
//     rcu_barrier before freeing, for its whole batch (not per namespace);
//     a namespace with outside references (hold) is left waiting, freed by
//     the put_hold that drops the last one.
// Memory ordering: Refcount::dec_and_test is release + acquire on the last
// drop, so the pass sees every write made under earlier references; the
// cleanup list head is pushed with a release CAS and taken with an acquire
// exchange (llist_add / llist_del_all), so the worker sees each Net whole.
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "impl/netns/netns_mutants.h"
#include "sched/mutex.h"
#include "sched/refcount.h"
#include "sched/rwsem.h"
#include "sched/spinlock.h"
#include "sched/work_queue.h"
#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::netns {

// How a cleanup pass takes dying namespaces off the cleanup list. A design
// switch for comparing the two (bench/netns_bench.cc), not a mutant: both
// free every namespace correctly.
enum class Cleanup : uint8_t {
  // Since 2.6.33 ("netns: Batch network namespace destruction", E. W.
  // Biederman, 2009): a pass takes the whole list (llist_del_all) and waits
  // one grace period and one rcu_barrier for all of it.
  kBatched,
  // Before it: one work item per namespace (struct net's work_struct), each
  // running cleanup_net for its namespace alone, with a grace period and an
  // rcu_barrier of its own. Here a pass takes one namespace (llist_del_first:
  // the newest, where the old work items ran oldest first; the order does not
  // change the cost) and requeues the work while the list is not empty.
  kOneAtATime,
};

class NetnsImpl final : public trace::Engine, public PernetHost {
 public:
  // Deferred passes report to `deferred` (null: their events are dropped).
  explicit NetnsImpl(MutantSet mutants = {}, trace::DeferredLog* deferred = nullptr,
                     Cleanup cleanup = Cleanup::kBatched);
  ~NetnsImpl() override;
  NetnsImpl(const NetnsImpl&) = delete;
  NetnsImpl& operator=(const NetnsImpl&) = delete;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  // Production mode: waits for the queued cleanup (flush_workqueue). Under
  // a scheduler the runner runs the worker's thread instead.
  void settle(std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  void snapshot(std::string_view ns, trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  bool register_pernet(std::string name, PernetOps* ops, bool device) override;
  bool lookup(std::string_view name, NetId* id) const override;
  void rebind(PernetOps*, PernetOps*) override {}  // an impl is never copied
  void hold(NetId id, std::string holder) override;
  void put_hold(NetId id, std::string_view holder, std::vector<trace::Event>& out) override;
  // Before the trace starts: not guarded (nothing runs yet).
  void register_netdevice_notifier(NetdevNotifier* n) override { notifiers_.push_back(n); }
  void rebind_notifier(NetdevNotifier*, NetdevNotifier*) override {}

  std::optional<std::string> find_invariant_violation() const;

 private:
  using ListHook = boost::intrusive::list_member_hook<>;
  struct Net;
  struct Dev {
    std::string name;
    Net* net = nullptr;
    bool phys = false;
    ListHook dev_list;  // in net->devices
  };
  using DevList =
      boost::intrusive::list<Dev, boost::intrusive::member_hook<Dev, ListHook, &Dev::dev_list>>;
  struct Net {
    NetId id = 0;
    std::string name;
    bool bound = true;
    sched::Refcount count{1};  // net->ns.count
    bool user_ref = true;      // the name's reference, until netns del drops it
    bool dying = false;
    Net* cleanup_next = nullptr;  // the cleanup llist
    ListHook list;                // net_namespace_list
    std::vector<uint8_t> gen;     // net_generic: gen[op id] set while its data lives
    DevList devices;              // dev_base_head
  };
  using NetList =
      boost::intrusive::list<Net, boost::intrusive::member_hook<Net, ListHook, &Net::list>>;
  struct Pernet {
    std::string name;
    uint32_t id = 0;  // index into Net::gen
    bool device = false;
    PernetOps* ops = nullptr;   // a subsystem's; nullptr: defined by the trace
    std::optional<NetId> fail;  // a trace operation's init fails for this namespace
    ListHook list;
  };
  using PernetList =
      boost::intrusive::list<Pernet,
                             boost::intrusive::member_hook<Pernet, ListHook, &Pernet::list>>;

  std::string label_of(const Net& n) const { return label(n.name, n.id, n.bound); }
  bool holds(const Net& n, const Pernet& p) const { return p.id < n.gen.size() && n.gen[p.id]; }
  // How many operations' data the namespace holds (net_generic slots in use).
  static uint64_t data_held(const Net& n);
  Pernet& insert_pernet(std::unique_ptr<Pernet> p);
  bool ops_init(Pernet& p, Net& n, std::vector<trace::Event>& out);
  void ops_pre_exit(Pernet& p, const std::vector<Net*>& nets, std::vector<trace::Event>& out);
  void ops_exit(Pernet& p, const std::vector<Net*>& nets, std::vector<trace::Event>& out);
  void ops_undo(const std::vector<Pernet*>& ops, const std::vector<Net*>& nets,
                std::vector<trace::Event>& out);
  void setup_net(const std::string& name, std::vector<trace::Event>& out);
  void put_net(Net& n, std::vector<trace::Event>& out);  // net_mutex_ held
  // The workqueue item: one pass, reported to deferred_.
  void cleanup_work();
  void cleanup_net(std::vector<trace::Event>& out);
  // Production: flush_workqueue; one at a time, until no pass is left (a
  // pass requeues itself, after the flush's snapshot).
  void drain();
  void register_trace_op(const trace::Op& op, std::vector<trace::Event>& out);
  void unregister_trace_op(const std::string& name, std::vector<trace::Event>& out);
  void unbind(Net& n);
  NetGauges gauges(const Net& n) const;
  // How many references other subsystems hold on `n` (holds_; read
  // without holds_lock_, as every reader of the state: nothing runs).
  size_t holds_on(const Net& n) const;
  Net* find(std::string_view name) const;

  // Declared first, so that they outlive the worker that may still be
  // running a pass when the engine goes (the workqueue's destructor joins it).
  sched::Mutex setup_mutex_;  // one setup_net at a time; outermost
  sched::RwSem pernet_rwsem_;
  sched::Mutex net_mutex_;
  trace::DeferredLog* deferred_;

  NetList net_list_;
  std::unordered_map<std::string, Net*> by_name_;
  std::unordered_map<NetId, Net*> by_id_;
  std::atomic<Net*> cleanup_head_{nullptr};  // llist of nets whose count reached 0
  PernetList pernet_;
  PernetList::iterator first_device_;
  std::vector<std::unique_ptr<Pernet>> pernet_store_;  // owns every Pernet ever registered
  std::unordered_map<std::string, Pernet*> trace_ops_;
  std::unordered_map<std::string, Net*> refs_;  // nullptr: a get that failed
  std::unordered_map<std::string, std::unique_ptr<Dev>> devs_;
  std::vector<PernetOps*> subsystems_;  // told of relabels
  // Outside references (hold/put_hold), oldest first, and the namespaces a
  // pass left waiting for them (still in by_id_). Guarded by holds_lock_,
  // taken inside net_mutex_ (a put from a softirq, under rcu_read_lock,
  // takes it alone and net_mutex_ only to free a waiting namespace, which
  // no receive path can still be using).
  sched::SpinLock holds_lock_;
  std::unordered_map<NetId, std::vector<std::string>> holds_;
  std::unordered_set<NetId> waiting_;
  // Called with net_mutex_ held (RTNL), so device events are serialized.
  std::vector<NetdevNotifier*> notifiers_;
  NetId next_id_ = 1;  // guarded by net_mutex_
  Net* init_net_ = nullptr;
  MutantSet mutants_;
  const Cleanup cleanup_;
  const bool test_mode_;  // made under a scheduler: its worker is the scheduler's thread
  sched::Work cleanup_work_{[this] { cleanup_work(); }};
  sched::WorkQueue netns_wq_{"netns"};  // last: destroyed (joined) first
};

}  // namespace nv::netns
