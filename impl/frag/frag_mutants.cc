#include "impl/frag/frag_mutants.h"

namespace nv::frag {

std::optional<FragMutant> frag_mutant_by_name(std::string_view name) {
  for (const FragMutantInfo& info : kFragMutants)
    if (info.name == name) return info.mutant;
  return std::nullopt;
}

}  // namespace nv::frag
