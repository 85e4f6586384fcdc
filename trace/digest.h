// A 64-bit digest of engine state, taken after every operation
// (Engine::digest), so it must cost a few cycles per value, not a serial
// hash chain per byte. The i-th value is multiplied by its own odd
// pseudo-random constant (distinct for the first 64 positions), the products
// are summed, and the sum goes through the splitmix64 finalizer. Two states
// that differ in a few values collide only if the differences times the
// constants sum to zero modulo 2^64, which small differences never do;
// position matters, so swapped values differ. Not a checksum of payload
// bytes: deliveries carry FNV-1a (frag_ops.h), which the trace format fixes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace nv::trace {

// The splitmix64 finalizer: every input bit affects every output bit.
constexpr uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Digest {
 public:
  // The seed's bytes (a namespace name: a few bytes) are folded in eight at
  // a time, as values of their own, ahead of the values that follow.
  explicit Digest(std::string_view seed = {}) {
    add(seed.size());
    for (size_t i = 0; i < seed.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, seed.data() + i, std::min<size_t>(8, seed.size() - i));
      add(w);
    }
  }
  Digest& add(uint64_t v) {
    // Past kMul's size, positions share constants (no branch on the hot path).
    sum_ += v * kMul[n_++ % kMul.size()];
    return *this;
  }
  uint64_t value() const { return splitmix64(sum_); }

 private:
  static constexpr std::array<uint64_t, 64> kMul = [] {
    std::array<uint64_t, 64> m{};
    for (uint64_t i = 0; i < m.size(); ++i) m[i] = splitmix64(i) | 1;
    return m;
  }();

  uint64_t n_ = 0;
  uint64_t sum_ = 0;
};

// A chained hash of a whole state (Engine::fingerprint): every value goes
// through the splitmix64 finalizer with all that came before, so order and
// position matter at any length (Digest's sum shares constants past 64
// values, which a fingerprint cannot afford: it keys a memo).
class Fingerprint {
 public:
  Fingerprint& add(uint64_t v) {
    h_ = splitmix64(h_ ^ v) + 0x9e3779b97f4a7c15ull;
    return *this;
  }
  Fingerprint& add(std::string_view text) {
    add(text.size());
    for (size_t i = 0; i < text.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, text.data() + i, std::min<size_t>(8, text.size() - i));
      add(w);
    }
    return *this;
  }
  uint64_t value() const { return splitmix64(h_); }

 private:
  uint64_t h_ = 0;
};

}  // namespace nv::trace
