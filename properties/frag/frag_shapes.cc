#include "properties/frag/frag_shapes.h"

#include <algorithm>
#include <vector>

#include "trace/frag/frag_ops.h"

namespace nv::gen {
namespace {

namespace f = frag::fields;

std::vector<size_t> frags_of(const trace::Trace& t) {
  std::vector<size_t> out;
  for (size_t i = 0; i < t.ops.size(); ++i)
    if (t.ops[i].spec->id == trace::op_id("frag")) out.push_back(i);
  return out;
}

// A fragment of the datagram of t.ops[i], starting where that one's run
// ends, inserted right after it: the last one, of `len` bytes.
void insert_last(trace::Trace& t, size_t i, uint64_t off, uint64_t len) {
  trace::Op last = t.ops[i];
  last.async = false;
  last.args[f::kOff] = off;
  last.args[f::kLen] = len;
  last.args[f::kMf] = uint64_t(0);
  last.args[f::kData] = std::nullopt;  // the pattern: any length
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(i + 1), std::move(last));
}

// The 8-aligned end of a fragment's run: where the next one starts.
uint64_t run_end(const trace::Op& op) {
  return std::min<uint64_t>((op.u(f::kOff) + op.u(f::kLen)) & ~uint64_t(7), 65528);
}

}  // namespace

bool frag_complete(trace::Trace& t, uint64_t random) {
  const std::vector<size_t> frags = frags_of(t);
  if (frags.empty()) return false;
  const size_t i = frags[random % frags.size()];
  insert_last(t, i, run_end(t.ops[i]), 1 + (random >> 16) % 64);
  return true;
}

bool frag_past_limit(trace::Trace& t, uint64_t random) {
  const std::vector<size_t> frags = frags_of(t);
  if (frags.empty()) return false;
  const size_t i = frags[random % frags.size()];
  const uint64_t off = run_end(t.ops[i]);
  // Ends 65508..65531: payload ends around the v4 limit (65515 with its
  // 20-byte header) and the v6 one (65527 with its Fragment header).
  const uint64_t end = 65508 + (random >> 16) % 24;
  if (end <= off) return false;
  // A v4 fragment carries at most 65515 bytes (its header takes 20).
  const bool v4 = t.ops[i].word_text(f::kFamily) == "v4";
  insert_last(t, i, off, std::min<uint64_t>(end - off, v4 ? 65515 : 65527));
  return true;
}

bool frag_collide(trace::Trace& t, uint64_t random) {
  const std::vector<size_t> frags = frags_of(t);
  if (frags.size() < 2) return false;
  const size_t from = frags[random % frags.size()];
  const size_t to = frags[(random >> 16) % frags.size()];
  if (from == to) return false;
  for (size_t k : {f::kNs, f::kFamily, f::kId, f::kSrc, f::kDst, f::kProto})
    t.ops[to].args[k] = t.ops[from].args[k];
  return true;
}

bool frag_ecn(trace::Trace& t, uint64_t random) {
  const std::vector<size_t> frags = frags_of(t);
  if (frags.empty()) return false;
  trace::Op& op = t.ops[frags[random % frags.size()]];
  const uint32_t was = op.has(f::kEcn) ? op.word(f::kEcn) : 0;
  const uint32_t now = (was + 1 + uint32_t((random >> 16) % 3)) % 4;
  // Not-ECT is the default: no field, as a trace without ECN writes it.
  op.args[f::kEcn] = now == 0 ? std::nullopt : std::optional<trace::Value>(trace::Word{now});
  return true;
}

}  // namespace nv::gen
