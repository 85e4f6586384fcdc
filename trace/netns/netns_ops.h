// The network-namespace subsystem's part of the trace language, and what
// its two engines share: the operations' field indices, the events they
// emit, and the pernet interface through which every other subsystem keeps
// per-namespace state (struct pernet_operations).
//
// A namespace has an identity (NetId: 0 for init, then 1, 2, ... in order of
// creation) apart from its name. `netns add NAME` binds the name to a new
// namespace holding one user reference; `netns del NAME` drops that
// reference. The name stays bound to the dying namespace until its cleanup
// pass unlinks it, or until a new `netns add NAME` takes the name; from then
// on the namespace's label (events, snapshots) is NAME#ID, so two namespaces
// never share one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trace/event.h"
#include "trace/op.h"
#include "trace/registry.h"

namespace nv::trace {
class Engine;
}

namespace nv::netns {

using NetId = uint32_t;
inline constexpr NetId kInitNet = 0;

// Name scopes besides namespaces.
inline constexpr std::string_view kScopeRef = "ref";        // a reference taken by get
inline constexpr std::string_view kScopeDev = "dev";        // a network device
inline constexpr std::string_view kScopePernet = "pernet";  // a trace-defined pernet operation

// Field indices.
namespace fields {
inline constexpr size_t kName = 0;                               // netns add|del NAME
inline constexpr size_t kGetNs = 0, kGetRef = 1;                 // netns get NS REF
inline constexpr size_t kPutRef = 0;                             // netns put REF
inline constexpr size_t kMaybeNsid = 0, kMaybeRef = 1;           // netns maybe_get NSID REF
inline constexpr size_t kPernetOp = 0, kPernetDevice = 1,        // pernet register OP [device=]
    kPernetFail = 2;                                             //   [fail=NSID]
inline constexpr size_t kDevNs = 0, kDevName = 1, kDevPhys = 2;  // dev add NS DEV [phys=]
inline constexpr size_t kDevDelName = 0;                         // dev del DEV
inline constexpr size_t kMoveName = 0, kMoveNs = 1;              // dev move DEV NS
inline constexpr size_t kDownName = 0;                           // dev down DEV
}  // namespace fields

// A namespace's label: its name while the name is bound to it, NAME#ID after.
std::string label(std::string_view name, NetId id, bool bound);

// A subsystem's per-namespace life, as the netns engines call it. Each
// engine (model or impl) of a subsystem that keeps per-namespace state
// registers one with its netns engine of the same kind.
class PernetOps {
 public:
  virtual ~PernetOps() = default;
  // Sets up the namespace's state; false refuses the namespace (its creation
  // unwinds, or the registration fails).
  virtual bool init(NetId id, std::string_view label) = 0;
  // Called for every namespace of a batch before the grace period: stop
  // accepting new state (fqdir_pre_exit marks the reassembly state dead and
  // closes its memory limit).
  virtual void pre_exit(NetId id) = 0;
  virtual void exit(NetId id) = 0;
  // Once per batch after every exit of this operation ran.
  virtual void exit_batch(std::span<const NetId> ids) = 0;
  // The namespace's label changed (its name was unbound or taken).
  virtual void relabel(NetId id, std::string_view label) = 0;
};

// Device events (register_netdevice_notifier, net/core/dev.c): a subsystem
// that holds references to devices hears of each device's registration, of
// it going down, and of its unregistration, and says who still holds it.
enum class NetdevEvent : uint8_t { kRegister, kDown, kUnregister };

class NetdevNotifier {
 public:
  virtual ~NetdevNotifier() = default;
  // NETDEV_REGISTER, NETDEV_DOWN, NETDEV_UNREGISTER for the device `dev`.
  virtual void netdev_event(NetdevEvent event, std::string_view dev,
                            std::vector<trace::Event>& out) = 0;
  // What of this subsystem still holds a reference on `dev`, by name
  // (netdev_wait_allrefs reports them); empty when nothing does.
  virtual std::vector<std::string> holders(std::string_view dev) const = 0;
};

// unregister_netdevice_many's device part, as both netns engines run it for
// the devices they unregister at once (one, or a dying batch's): every
// notifier hears NETDEV_UNREGISTER for every device, then netdev_wait_allrefs
// waits for each. The wait is bounded by nothing left to run: a device still
// held when every notifier ran stays held (the notifiers moved whatever they
// could), so it is reported at once as the kernel's "unregister_netdevice:
// waiting for DEV to become free": event netdev-wait with the holders.
void unregister_netdevices(std::span<NetdevNotifier* const> notifiers,
                           std::span<const std::string> devs, std::vector<trace::Event>& out);
// Every notifier hears `event` for `dev`.
void call_netdevice_notifiers(std::span<NetdevNotifier* const> notifiers, NetdevEvent event,
                              std::string_view dev, std::vector<trace::Event>& out);

// What a subsystem engine sees of its netns engine.
class PernetHost {
 public:
  virtual ~PernetHost() = default;
  // register_pernet_subsys (device false) or register_pernet_device: runs
  // init on every live namespace; false if one refused it (exits unwound).
  virtual bool register_pernet(std::string name, PernetOps* ops, bool device) = 0;
  // The namespace a name is bound to.
  virtual bool lookup(std::string_view name, NetId* id) const = 0;
  // A copy of the host keeps the original's pernet operations: a copy of a
  // subsystem engine registered with it puts itself in its original's place.
  virtual void rebind(PernetOps* from, PernetOps* to) = 0;
  // A reference to a namespace from outside its pernet operations (get_net
  // by a conntrack entry an skb carries), named by `holder`. A cleanup pass
  // does not free a namespace while one is held: it reports the wait
  // (netns-cleanup-wait, naming the oldest holder), and the put that drops
  // the last one frees the namespace, reporting to `out`.
  virtual void hold(NetId id, std::string holder) = 0;
  virtual void put_hold(NetId id, std::string_view holder, std::vector<trace::Event>& out) = 0;
  // register_netdevice_notifier: `n` hears of every device event from now on
  // (a subsystem registers before the trace starts); a copy of the host
  // keeps the original's notifiers, as rebind does.
  virtual void register_netdevice_notifier(NetdevNotifier* n) = 0;
  virtual void rebind_notifier(NetdevNotifier* from, NetdevNotifier* to) = 0;
};

// A namespace's state as both engines report it (snapshot keys netns.*).
struct NetGauges {
  uint64_t refs = 0;     // references held
  uint64_t dying = 0;    // 1 once on the cleanup list
  uint64_t devices = 0;  // devices registered in it
  uint64_t pernet = 0;   // pernet operations whose data it holds
  uint64_t holds = 0;    // references another subsystem's objects hold (PernetHost::hold)
  void add_to(trace::Snapshot& out, const std::string& label) const;
  uint64_t digest(std::string_view label) const;
};

// default_device_ops (net/core/dev.c): the first device operation, which
// every netns engine registers at boot.
inline constexpr std::string_view kDefaultDevice = "default_device";

// Events.
trace::Event device_event(std::string_view kind, std::string_view dev, std::string_view ns);
trace::Event register_failed_event(std::string_view op);
trace::Event maybe_get_event(NetId id, bool ok);
trace::Event cleanup_event(size_t batch);
// A cleanup pass could not free a namespace: `holds` references from
// outside are left, the oldest held by `holder`.
trace::Event cleanup_wait_event(std::string_view label, NetId id, size_t holds,
                                std::string_view holder);
trace::Event exit_batch_event(std::string_view op, size_t count);
trace::Event pernet_event(std::string_view kind, std::string_view op, std::string_view label,
                          NetId id);

void register_ops(trace::Registry& registry);

// For an engine that stands on a netns engine of its own (a subsystem's
// engine built alone, for tests and benchmarks): applies a netns op to
// `own`, with its deferred work, dropping their events, and says whether
// the op was one. `own` null: nothing is forwarded.
bool forward_to_own(trace::Engine* own, const trace::Op& op);

}  // namespace nv::netns
