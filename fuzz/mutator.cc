#include "fuzz/mutator.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "trace/parser.h"

namespace nv::fuzz {
namespace {

using trace::Kind;
using trace::Op;

// splitmix64: a few bytes of state, the same sequence everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : seed_(seed) {}
  uint64_t below(uint64_t n) { return splitmix64(seed_, ++drawn_) % n; }

 private:
  uint64_t seed_, drawn_ = 0;
};

bool is_number(const trace::FieldSpec& f) {
  return f.kind == Kind::kUint || f.kind == Kind::kDuration;
}

// The present number fields of an op, as (op index, field index).
void numbers_of(const trace::Trace& t, size_t i, std::vector<std::pair<size_t, size_t>>* out) {
  const Op& op = t.ops[i];
  for (size_t f = 0; f < op.spec->fields.size(); ++f)
    if (op.has(f) && is_number(op.spec->fields[f])) out->emplace_back(i, f);
}

constexpr size_t kMaxStarted = 4;

enum Step : uint8_t { kDuplicate, kShare, kEdge, kGo, kSched, kPhases, kDrop, kSwap, kSteps };

Op sched_line(const trace::OpSpec* sched, uint64_t k) {
  Op d;
  d.spec = sched;
  d.args.assign(sched->fields.size(), std::nullopt);
  d.args[0] = k;
  return d;
}

// One step on `t`; false when the step does not apply to it.
bool step(trace::Trace& t, Step s, Rng& rng, const trace::OpSpec* sched) {
  std::vector<Op>& ops = t.ops;
  const size_t n = ops.size();
  if (n == 0) return false;  // an earlier step dropped the last op
  const size_t i = rng.below(n);
  switch (s) {
    case kDuplicate: {
      Op copy = ops[i];
      ops.insert(ops.begin() + std::ptrdiff_t(i + 1 + rng.below(n - i)), std::move(copy));
      return true;
    }
    case kShare:
    case kEdge: {
      std::vector<std::pair<size_t, size_t>> mine, all;
      numbers_of(t, i, &mine);
      if (mine.empty()) return false;
      const auto [oi, fi] = mine[rng.below(mine.size())];
      const trace::FieldSpec& f = ops[oi].spec->fields[fi];
      uint64_t v;
      if (s == kShare) {
        for (size_t k = 0; k < n; ++k)
          if (k != i) numbers_of(t, k, &all);
        if (all.empty()) return false;
        const auto [sk, sf] = all[rng.below(all.size())];
        v = ops[sk].u(sf);
      } else {
        if (f.kind != Kind::kUint) return false;
        const uint64_t edges[] = {f.min, f.max, f.max & ~uint64_t(7)};
        v = edges[rng.below(std::size(edges))];
      }
      if (f.kind == Kind::kUint) v = std::clamp(v, f.min, f.max);
      ops[oi].args[fi] = v;
      return true;
    }
    case kGo: {
      if (ops[i].spec->runner_only) return false;
      ops[i].async = !ops[i].async;
      // A section of more than kMaxStarted started ops costs the
      // linearizability check factorially: leave those to byte mutations.
      size_t started = 0;
      for (size_t k = i; k < n && (ops[k].async || ops[k].spec->runner_only); ++k)
        started += ops[k].async;
      for (size_t k = i; k-- > 0 && (ops[k].async || ops[k].spec->runner_only);)
        started += ops[k].async;
      return started <= kMaxStarted;
    }
    case kSched:
      if (!sched || !ops[i].async) return false;
      ops.insert(ops.begin() + std::ptrdiff_t(i + 1), sched_line(sched, rng.below(4)));
      return true;
    case kPhases: {
      // At the end of a section: two or three threads in turn, each for a
      // few points (a race's window is often "this one to its lock, that
      // one through its critical section, then the first again").
      if (!sched || !ops[i].async) return false;
      size_t end = i;
      while (end < n && (ops[end].async || ops[end].spec->runner_only)) ++end;
      std::vector<Op> lines;
      for (uint64_t phase = 0, phases = 2 + rng.below(2); phase < phases; ++phase) {
        const uint64_t thread = rng.below(3);
        for (uint64_t k = 0, len = 1 + rng.below(8); k < len; ++k)
          lines.push_back(sched_line(sched, thread));
      }
      ops.insert(ops.begin() + std::ptrdiff_t(end), lines.begin(), lines.end());
      return true;
    }
    case kDrop:
      ops.erase(ops.begin() + std::ptrdiff_t(i));
      return true;
    case kSwap:
      if (i + 1 == n) return false;
      std::swap(ops[i], ops[i + 1]);
      return true;
    case kSteps:
      break;
  }
  return false;
}

}  // namespace

uint64_t splitmix64(uint64_t seed, uint64_t n) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * n;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool mutate_trace(trace::Trace& t, const trace::Registry& registry, std::span<const Shape> shapes,
                  uint64_t seed, bool sequential) {
  if (t.ops.empty()) return false;
  Rng rng(seed);
  const trace::OpSpec* sched = sequential ? nullptr : registry.find("sched");
  static constexpr Step kSequential[] = {kDuplicate, kShare, kEdge, kDrop, kSwap};
  // One to three steps, so that shapes combine (a race and a schedule for
  // it; a fragment steered, its datagram completed, its namespace deleted).
  bool changed = false;
  for (uint64_t k = 0, steps = 1 + rng.below(3); k < steps; ++k) {
    if (!shapes.empty() && rng.below(2))
      changed |= shapes[rng.below(shapes.size())](t, rng.below(UINT64_MAX));
    else
      changed |= step(
          t, sequential ? kSequential[rng.below(std::size(kSequential))] : Step(rng.below(kSteps)),
          rng, sched);
  }
  // Valid as the parser sees it (names alive where used, cross-field
  // checks), so that the encoder's preconditions hold.
  return changed && !t.ops.empty() && !trace::check_ops(t.ops);
}

size_t Mutator::mutate(uint8_t* data, size_t size, size_t max_size, uint64_t seed) const {
  trace::Trace t = codec_.decode({data, size});
  if (!mutate_trace(t, registry_, shapes_, seed)) return 0;
  std::string error;
  std::optional<std::vector<uint8_t>> bytes = codec_.encode(t, &error);
  if (!bytes || bytes->empty() || bytes->size() > max_size) return 0;
  std::memcpy(data, bytes->data(), bytes->size());
  return bytes->size();
}

}  // namespace nv::fuzz
