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
// Concurrency: the trace's operations and the cleanup worker run one at a
// time today (settle() runs the worker's pass); the pass is written as
// cleanup_net is, so that it can run on a worker thread under
// pernet_ops_rwsem (read) while registration takes it for writing.
// Memory ordering: count is changed with acq_rel read-modify-writes, so the
// pass that sees it reach 0 sees every write made under earlier references;
// the cleanup list head is pushed with a release CAS and taken with an
// acquire exchange (llist_add / llist_del_all).
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "impl/netns/netns_mutants.h"
#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::netns {

class NetnsImpl final : public trace::Engine, public PernetHost {
 public:
  explicit NetnsImpl(MutantSet mutants = {});
  ~NetnsImpl() override;
  NetnsImpl(const NetnsImpl&) = delete;
  NetnsImpl& operator=(const NetnsImpl&) = delete;

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void settle(std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;

  bool register_pernet(std::string name, PernetOps* ops, bool device) override;
  bool lookup(std::string_view name, NetId* id) const override;

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
    std::atomic<uint32_t> count{1};  // net->ns.count
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
  void put_net(Net& n, std::vector<trace::Event>& out);
  void cleanup_net(std::vector<trace::Event>& out);
  void register_trace_op(const trace::Op& op, std::vector<trace::Event>& out);
  void unregister_trace_op(const std::string& name, std::vector<trace::Event>& out);
  void unbind(Net& n);
  NetGauges gauges(const Net& n) const;
  Net* find(std::string_view name) const;

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
  NetId next_id_ = 1;
  Net* init_net_ = nullptr;
  MutantSet mutants_;
};

}  // namespace nv::netns
