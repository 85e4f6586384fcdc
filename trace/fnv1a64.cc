#include "trace/fnv1a64.h"

namespace nv::trace {

void Fnv1a64::update(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 0x100000001b3ull;
}

}  // namespace nv::trace
