#include "trace/section_names.h"

namespace nv::trace {

std::optional<size_t> SectionNames::conflict(const Op& op) const {
  if (!op.async) return std::nullopt;
  for (size_t i = 0; i < op.spec->fields.size(); ++i) {
    const FieldSpec& f = op.spec->fields[i];
    if (f.kind == Kind::kName && f.exclusive && op.has(i) && taken_.count({f.scope, op.name(i)}))
      return i;
  }
  return std::nullopt;
}

void SectionNames::add(const Op& op) {
  if (!op.async && !op.spec->runner_only) return taken_.clear();
  for (size_t i = 0; i < op.spec->fields.size(); ++i) {
    const FieldSpec& f = op.spec->fields[i];
    if (op.async && f.kind == Kind::kName && f.exclusive && f.ns_use != NsUse::kRef && op.has(i))
      taken_.insert({f.scope, op.name(i)});
  }
}

}  // namespace nv::trace
