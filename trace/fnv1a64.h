// FNV-1a 64-bit over a delivered datagram's payload, as the JSON "fnv1a64"
// field and "expect deliver" use it (../shared/TRACE_FORMAT.md fixes it).
//
// update() is out of line, in a file the fuzz builds do not instrument
// (fuzz/coverage_allowlist.txt): a per-byte loop would otherwise call the
// comparison hook once per payload byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nv::trace {

class Fnv1a64 {
 public:
  void update(const uint8_t* p, size_t n);
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace nv::trace
