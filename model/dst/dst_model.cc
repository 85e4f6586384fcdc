#include "model/dst/dst_model.h"

#include "trace/digest.h"
#include "trace/dst/dst_ops.h"

namespace nv::dst {

using trace::Event;
using trace::op_id;

DstModel::DstModel(netns::PernetHost& host) {
  host.register_netdevice_notifier(this);
}

DstModel::DstModel(const DstModel& other, netns::PernetHost& host)
    : entries_(other.entries_),
      cached_(other.cached_),
      generations_(other.generations_),
      refs_(other.refs_),
      devices_(other.devices_),
      next_(other.next_) {
  host.rebind_notifier(const_cast<DstModel*>(&other), this);
}

std::unique_ptr<trace::Engine> DstModel::clone(
    const std::function<trace::Engine*(std::string_view)>& deps) const {
  auto* host = dynamic_cast<netns::PernetHost*>(deps("netns"));
  if (!host) return nullptr;
  return std::make_unique<DstModel>(*this, *host);
}

uint64_t DstModel::fingerprint() const {
  trace::Fingerprint f;
  for (const auto& [seq, e] : entries_)
    f.add(seq).add(e.label).add(e.dev).add(e.refs).add(e.obsolete).add(e.blackhole);
  for (const auto& [name, seq] : cached_) f.add(name).add(seq);
  for (const auto& [name, gen] : generations_) f.add(name).add(gen);
  for (const auto& [ref, seq] : refs_) f.add(ref).add(seq);
  for (const std::string& dev : devices_) f.add(dev);
  return f.add(next_).add(entries_.size()).add(refs_.size()).value();
}

void DstModel::apply(const trace::Op& op, std::vector<Event>& out) {
  switch (op.spec->id) {
    case op_id("dst alloc"): {  // 1. dst_alloc
      const std::string& name = op.name(fields::kAllocDst);
      const std::string& dev = op.name(fields::kAllocDev);
      if (!devices_.count(dev)) {
        out.push_back(alloc_failed_event(name, dev, "no-device"));
        break;
      }
      if (cached_.count(name)) {
        out.push_back(alloc_failed_event(name, dev, "exists"));
        break;
      }
      const uint64_t seq = next_++;
      entries_[seq] = Entry{.label = entry_label(name, ++generations_[name]), .dev = dev};
      cached_[name] = seq;
      break;
    }
    case op_id("dst hold"): {  // 2. dst_hold
      const std::string& ref = op.name(fields::kHoldRef);
      auto it = cached_.find(op.name(fields::kHoldDst));
      if (it == cached_.end()) {
        refs_.erase(ref);
        break;
      }
      ++entries_.at(it->second).refs;
      refs_[ref] = it->second;
      break;
    }
    case op_id("dst put"): {  // 3. dst_release
      auto it = refs_.find(op.name(fields::kPutRef));
      if (it == refs_.end()) break;
      Entry& e = entries_.at(it->second);
      if (--e.refs == 0 && e.obsolete) entries_.erase(it->second);
      refs_.erase(it);
      break;
    }
    case op_id("dst free"): {  // 4. dst_free
      auto it = cached_.find(op.name(fields::kFreeDst));
      if (it == cached_.end()) break;
      Entry& e = entries_.at(it->second);
      e.obsolete = true;
      if (e.refs == 0) entries_.erase(it->second);
      cached_.erase(it);
      break;
    }
  }
}

// 5. dst_dev_event
void DstModel::netdev_event(netns::NetdevEvent event, std::string_view dev, std::vector<Event>&) {
  if (event == netns::NetdevEvent::kRegister) {
    devices_.emplace(dev);
    return;
  }
  if (event == netns::NetdevEvent::kUnregister) devices_.erase(std::string(dev));
  for (auto& [seq, e] : entries_)
    if (e.dev == dev) e.blackhole = true;
}

std::vector<std::string> DstModel::holders(std::string_view dev) const {
  std::vector<std::string> out;
  for (const auto& [seq, e] : entries_)
    if (e.dev == dev && !e.blackhole) out.push_back(e.label);
  return out;
}

void DstModel::snapshot(trace::Snapshot& out) const {
  for (const auto& [seq, e] : entries_)
    EntryGauges{e.refs, e.obsolete, e.blackhole}.add_to(out, e.label);
}

uint64_t DstModel::digest() const {
  uint64_t sum = 0;
  for (const auto& [seq, e] : entries_)
    sum += EntryGauges{e.refs, e.obsolete, e.blackhole}.digest(e.label);
  return sum;
}

uint64_t DstModel::digest(std::string_view ns) const {
  return ns == kSnapshotNs ? digest() : 0;
}

std::string DstModel::describe() const {
  std::string out = "dst: " + std::to_string(entries_.size()) + " entries not yet destroyable\n";
  for (const auto& [seq, e] : entries_)
    out += "  " + e.label + " dev=" + (e.blackhole ? std::string(kBlackhole) : e.dev) +
           " refs=" + std::to_string(e.refs) + " obsolete=" + std::to_string(e.obsolete) + "\n";
  // Which entry each reference name holds: a concurrent section's end
  // state includes it (a reused name names the newest reference).
  out += "  dst refs:";
  for (const auto& [ref, seq] : refs_) out += " " + ref + "=" + entries_.at(seq).label;
  return out + "\n";
}

}  // namespace nv::dst
