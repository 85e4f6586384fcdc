#include "trace/dst/dst_ops.h"

#include "trace/digest.h"
#include "trace/netns/netns_ops.h"

namespace nv::dst {

using trace::FieldSpec;
using trace::Kind;
using trace::NsUse;

std::string entry_label(std::string_view name, uint32_t generation) {
  return std::string(name) + "/" + std::to_string(generation);
}

void EntryGauges::add_to(trace::Snapshot& out, const std::string& label) const {
  auto& values = out.ns[std::string(kSnapshotNs)];
  values["dst." + label + ".refs"] = refs;
  values["dst." + label + ".obsolete"] = obsolete;
  values["dst." + label + ".blackhole"] = blackhole;
}

uint64_t EntryGauges::digest(std::string_view label) const {
  return trace::Digest(label).add(refs).add(obsolete).add(blackhole).value();
}

void CheckGauges::add_to(trace::Snapshot& out) const {
  auto& values = out.ns[std::string(kSnapshotNs)];
  if (overdue) values["dst.overdue"] = overdue;
  if (lock_overwork) values["dst.lock-overwork"] = lock_overwork;
}

uint64_t CheckGauges::digest() const {
  if (!overdue && !lock_overwork) return 0;
  return trace::Digest("dst.check").add(overdue).add(lock_overwork).value();
}

trace::Event alloc_failed_event(std::string_view dst, std::string_view dev,
                                std::string_view reason) {
  trace::Event e{"dst-alloc-failed", {}};
  e.add("dst", std::string(dst)).add("dev", std::string(dev)).add("reason", std::string(reason));
  return e;
}

void register_ops(trace::Registry& r) {
  const auto name = trace::name_field;
  r.add_op({.name = "dst alloc",
            .subsystem = "dst",
            .help = "allocate a route cache entry pointing at a device (dst_alloc)",
            .fields = {name("DST", kScopeDst, NsUse::kCreate, "the entry's name"),
                       name("DEV", netns::kScopeDev, NsUse::kRef, "device")}});
  r.add_op({.name = "dst hold",
            .subsystem = "dst",
            .help = "take a reference on a cached entry (dst_hold)",
            .fields = {name("DST", kScopeDst, NsUse::kRef, "entry"),
                       name("REF", kScopeDstRef, NsUse::kCreate, "the reference's name")}});
  r.add_op({.name = "dst put",
            .subsystem = "dst",
            .help = "drop a reference (dst_release)",
            .fields = {name("REF", kScopeDstRef, NsUse::kDestroy, "reference")}});
  r.add_op({.name = "dst free",
            .subsystem = "dst",
            .help = "the owner drops the entry (dst_free): destroyed once unreferenced",
            .fields = {name("DST", kScopeDst, NsUse::kDestroy, "entry")}});
}

}  // namespace nv::dst
