// Planted bugs, generically: a subsystem's impl declares an enum of its
// mutants and one table of their names and descriptions; MutantSet is the
// set an engine runs with (STYLE.md 11: mutants are named switches, off by
// default, on at run time).
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string_view>

namespace nv::trace {

template <class E, size_t N>
class MutantSet {
 public:
  MutantSet() = default;
  MutantSet(std::initializer_list<E> mutants) {
    for (E m : mutants) set(m);
  }

  MutantSet& set(E m, bool on = true) {
    bits_.set(size_t(m), on);
    return *this;
  }
  bool has(E m) const { return bits_.test(size_t(m)); }
  bool empty() const { return bits_.none(); }
  friend bool operator==(const MutantSet&, const MutantSet&) = default;

 private:
  std::bitset<N> bits_;
};

template <class E>
struct MutantInfo {
  E mutant;
  std::string_view name;
  std::string_view description;  // the historical kernel bug, one line
};

template <class E, size_t N>
std::optional<E> mutant_by_name(const std::array<MutantInfo<E>, N>& table, std::string_view name) {
  for (const MutantInfo<E>& info : table)
    if (info.name == name) return info.mutant;
  return std::nullopt;
}

}  // namespace nv::trace
