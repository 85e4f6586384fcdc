// The reference model of route cache entries and their devices (the
// lifecycle of net/core/dst.c), written to be checked by eye. It knows no
// garbage collector: an entry that is freed and unreferenced is destroyable,
// and leaves the observable state at once; when each design destroys it is
// checked by properties on the impl (docs/design.md, "dst").
//
// State is plain values: entries by allocation order with their name,
// device, user references, obsolete and blackhole flags; which name is
// bound to which cached entry; references by name; registered devices.
//
//   1. dst_alloc: a device that is not registered refuses the entry
//      (dst-alloc-failed no-device), as does a name bound to a cached entry
//      (exists); otherwise a new cached entry with no user reference.
//   2. dst_hold: a reference on the cached entry the name is bound to; a
//      name no longer bound (its entry was freed: go lines reordered) takes
//      nothing. A reused reference name names the newest reference.
//   3. dst_release: drops the reference; a freed entry's last reference
//      makes it destroyable.
//   4. dst_free: the name is unbound, the entry obsolete; unreferenced, it
//      is destroyable at once.
//   5. dst_dev_event (NETDEV_DOWN, NETDEV_UNREGISTER): every entry not yet
//      destroyed that points at the device moves to the blackhole device
//      (dst_ifdown), cached or freed alike; so nothing of dst holds a
//      device once it is unregistered (netdev_wait_allrefs never waits).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "trace/engine.h"
#include "trace/netns/netns_ops.h"

namespace nv::dst {

class DstModel final : public trace::Engine, public netns::NetdevNotifier {
 public:
  explicit DstModel(netns::PernetHost& host);
  DstModel(const DstModel& other, netns::PernetHost& host);

  void apply(const trace::Op& op, std::vector<trace::Event>& out) override;
  void snapshot(trace::Snapshot& out) const override;
  uint64_t digest() const override;
  uint64_t digest(std::string_view ns) const override;
  std::string describe() const override;
  std::unique_ptr<trace::Engine> clone(
      const std::function<trace::Engine*(std::string_view)>& deps) const override;
  uint64_t fingerprint() const override;

  void netdev_event(netns::NetdevEvent event, std::string_view dev,
                    std::vector<trace::Event>& out) override;
  std::vector<std::string> holders(std::string_view dev) const override;

 private:
  struct Entry {
    std::string label;
    std::string dev;
    uint32_t refs = 0;
    bool obsolete = false;
    bool blackhole = false;
  };

  std::map<uint64_t, Entry> entries_;            // not yet destroyable, by allocation
  std::map<std::string, uint64_t> cached_;       // name -> its cached entry
  std::map<std::string, uint32_t> generations_;  // name -> allocations of it
  std::map<std::string, uint64_t> refs_;         // reference -> entry
  std::set<std::string> devices_;                // registered
  uint64_t next_ = 0;
};

}  // namespace nv::dst
