#include "fuzz/byte_trace.h"

#include <algorithm>
#include <cstring>

namespace nv::fuzz {
namespace {

using trace::Addr;
using trace::Data;
using trace::FieldSpec;
using trace::Kind;
using trace::NsUse;
using trace::Op;
using trace::OpSpec;

constexpr const char* kNames[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
constexpr size_t kNameCount = std::size(kNames);
constexpr uint8_t kLiteralAddr = 0xf0;
constexpr uint8_t kWideUint = 0xf0;

Addr table_addr(bool v6, uint8_t i) {
  Addr a;
  a.v6 = v6;
  if (!v6) {
    a.bytes[0] = 127;
    a.bytes[3] = uint8_t(1 + i % 4);  // 127.0.0.1 .. 127.0.0.4
  } else {
    a.bytes[15] = uint8_t(1 + i % 4);  // ::1 .. ::4
  }
  return a;
}

std::optional<uint8_t> table_index(const Addr& a) {
  for (uint8_t i = 0; i < 4; ++i)
    if (table_addr(a.v6, i) == a) return i;
  return std::nullopt;
}

int uint_width(const FieldSpec& f) {
  uint64_t range = f.max - f.min;
  return range <= 0xff ? 1 : range <= 0xffff ? 2 : range <= 0xffffffff ? 4 : 8;
}

// What the codec needs to know of one decodable op, worked out once per
// codec rather than once per record.
struct Plan {
  const OpSpec* spec = nullptr;
  std::vector<size_t> optional;  // indices of optional fields, in order
  std::vector<int> bit;          // per field: its presence bit, or -1
  std::vector<int> width;        // per field: bytes of a wide kUint
  size_t family = SIZE_MAX;      // the "family" word, which addresses follow
  size_t len = SIZE_MAX;         // the kUint "len", which a hex payload fills
};

Plan plan_of(const OpSpec& spec) {
  Plan p;
  p.spec = &spec;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    const FieldSpec& f = spec.fields[i];
    p.bit.push_back(f.required ? -1 : int(p.optional.size()));
    if (!f.required) p.optional.push_back(i);
    p.width.push_back(uint_width(f));
    if (f.kind == Kind::kWord && f.vocab == "family" && p.family == SIZE_MAX) p.family = i;
    if (f.kind == Kind::kUint && f.key == "len") p.len = i;
  }
  return p;
}

// The decodable ops: every non-expectation op of the core and the chosen
// subsystems, in registry order.
std::vector<Plan> decodable(const trace::Registry& r, const ByteTraceOptions& o) {
  std::vector<Plan> out;
  for (const auto& spec : r.ops()) {
    if (spec->expect) continue;
    bool wanted =
        spec->subsystem == "core" || o.subsystems.empty() ||
        std::find(o.subsystems.begin(), o.subsystems.end(), spec->subsystem) != o.subsystems.end();
    if (wanted) out.push_back(plan_of(*spec));
  }
  return out;
}

std::optional<uint64_t> length_field(const Plan& p, const Op& op) {
  if (p.len == SIZE_MAX || !op.has(p.len)) return std::nullopt;
  return op.u(p.len);
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool done() const { return pos_ >= b_.size(); }
  uint8_t u8() { return pos_ < b_.size() ? b_[pos_++] : 0; }
  uint64_t le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(u8()) << (8 * i);
    return v;
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

class Writer {
 public:
  void u8(uint8_t v) { out.push_back(v); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t> out;
};

// Live namespaces in creation order ("init" first), as both sides see them.
using Live = std::vector<std::string>;

}  // namespace

struct Codec::Plans {
  std::vector<Plan> plans;
  size_t max_ops;
};

Codec::Codec(const trace::Registry& registry, const ByteTraceOptions& options)
    : plans_(std::make_unique<Plans>(Plans{decodable(registry, options), options.max_ops})) {}
Codec::~Codec() = default;

trace::Trace Codec::decode(std::span<const uint8_t> bytes) const {
  const std::vector<Plan>& plans = plans_->plans;
  trace::Trace out;
  out.ops.reserve(std::min(plans_->max_ops, bytes.size() / 2));
  Live live = {"init"};
  Reader in(bytes);
  while (!in.done() && out.ops.size() < plans_->max_ops && !plans.empty()) {
    const Plan& plan = plans[in.u8() % plans.size()];
    const OpSpec& spec = *plan.spec;
    Op op;
    op.spec = &spec;
    op.args.assign(spec.fields.size(), std::nullopt);
    const uint8_t presence = plan.optional.empty() ? 0 : in.u8();
    bool valid = true;
    std::string created, destroyed;
    for (size_t i = 0; i < spec.fields.size() && valid; ++i) {
      const FieldSpec& f = spec.fields[i];
      if (const int bit = plan.bit[i]; bit >= 0 && (bit >= 8 || !(presence >> bit & 1))) continue;
      switch (f.kind) {
        case Kind::kUint: {
          // Small values (offsets, lengths, ids of a few datagrams) are the
          // common case: one byte below kWideUint is the value itself; from
          // kWideUint on, the full-width value follows.
          const int width = plan.width[i];
          uint64_t v = in.u8();
          if (width > 1 && v >= kWideUint) v = in.le(width);
          uint64_t range = f.max - f.min;
          op.args[i] = range == UINT64_MAX ? v : f.min + v % (range + 1);
          break;
        }
        case Kind::kWord:
          if (f.words->empty())
            valid = false;
          else
            op.args[i] = trace::Word{uint32_t(in.u8() % f.words->size())};
          break;
        case Kind::kName: {
          uint8_t k = in.u8();
          if (f.ns_use == NsUse::kRef) {
            op.args[i] = live[k % live.size()];
          } else if (f.ns_use == NsUse::kCreate) {
            created = kNames[k % kNameCount];
            valid = std::find(live.begin(), live.end(), created) == live.end();
            op.args[i] = created;
          } else {
            valid = live.size() > 1;
            if (valid) op.args[i] = destroyed = live[1 + k % (live.size() - 1)];
          }
          break;
        }
        case Kind::kDuration:
          op.args[i] = in.u8() % 2 ? in.le(4) : in.le(2);
          break;
        case Kind::kAddr: {
          const bool v6 =
              plan.family != SIZE_MAX && op.has(plan.family) && op.word(plan.family) == 1;
          uint8_t k = in.u8();
          if (k < kLiteralAddr) {
            op.args[i] = table_addr(v6, k);
          } else {
            Addr a;
            a.v6 = v6;
            for (int b = 0; b < (v6 ? 16 : 4); ++b) a.bytes[b] = in.u8();
            op.args[i] = a;
          }
          break;
        }
        case Kind::kHex64:
          op.args[i] = in.le(8);
          break;
        case Kind::kData: {
          Data d;
          switch (in.u8() % 3) {
            case 0:
              break;
            case 1:
              d.mode = Data::Mode::kFill;
              d.fill = in.u8();
              break;
            case 2:
              d.mode = Data::Mode::kHex;
              if (auto len = length_field(plan, op)) {
                d.hex.resize(*len);
              } else {
                d.hex.resize(in.u8());
              }
              for (uint8_t& b : d.hex) b = in.u8();
              break;
          }
          op.args[i] = std::move(d);
          break;
        }
      }
    }
    if (!valid) continue;
    if (spec.normalize) spec.normalize(op);
    if (spec.check && spec.check(op)) continue;
    if (!created.empty()) live.push_back(created);
    if (!destroyed.empty()) live.erase(std::find(live.begin(), live.end(), destroyed));
    op.line = uint32_t(out.ops.size() + 2);  // as printed, after the header line
    out.ops.push_back(std::move(op));
  }
  return out;
}

std::optional<std::vector<uint8_t>> Codec::encode(const trace::Trace& trace,
                                                  std::string* error) const {
  const std::vector<Plan>& plans = plans_->plans;
  Writer w;
  Live live = {"init"};
  std::vector<std::pair<std::string, std::string>> renamed;  // trace name -> table name
  auto rename = [&](const std::string& n) {
    for (const auto& [from, to] : renamed)
      if (from == n) return to;
    return n;
  };
  for (const Op& op : trace.ops) {
    if (op.spec->expect) continue;
    auto it =
        std::find_if(plans.begin(), plans.end(), [&](const Plan& p) { return p.spec == op.spec; });
    if (it == plans.end()) {
      *error = "line " + std::to_string(op.line) + ": '" + op.spec->name +
               "' is not among the fuzzed subsystems' ops";
      return std::nullopt;
    }
    w.u8(uint8_t(it - plans.begin()));
    const std::vector<size_t>& optional = it->optional;
    if (!optional.empty()) {
      uint8_t presence = 0;
      for (size_t bit = 0; bit < optional.size() && bit < 8; ++bit)
        if (op.has(optional[bit])) presence |= uint8_t(1 << bit);
      w.u8(presence);
    }
    for (size_t i = 0; i < op.spec->fields.size(); ++i) {
      const FieldSpec& f = op.spec->fields[i];
      if (!op.has(i)) continue;
      switch (f.kind) {
        case Kind::kUint: {
          const uint64_t v = op.u(i) - f.min;
          if (it->width[i] == 1 || v < kWideUint) {
            w.u8(uint8_t(v));
          } else {
            w.u8(kWideUint);
            w.le(v, it->width[i]);
          }
          break;
        }
        case Kind::kWord:
          w.u8(uint8_t(op.word(i)));
          break;
        case Kind::kName: {
          if (f.ns_use == NsUse::kCreate) {
            auto is_live = [&](size_t k) {
              return std::find(live.begin(), live.end(), kNames[k]) != live.end();
            };
            // A table name keeps its slot; any other name takes the first free one.
            size_t k = std::find(std::begin(kNames), std::end(kNames), op.name(i)) - kNames;
            if (k == kNameCount || is_live(k)) {
              k = 0;
              while (k < kNameCount && is_live(k)) ++k;
            }
            if (k == kNameCount) {
              *error = "more than " + std::to_string(kNameCount) + " live namespaces";
              return std::nullopt;
            }
            std::erase_if(renamed, [&](const auto& kv) { return kv.first == op.name(i); });
            renamed.emplace_back(op.name(i), kNames[k]);
            live.push_back(kNames[k]);
            w.u8(uint8_t(k));
          } else {
            const std::string name = rename(op.name(i));
            size_t k = std::find(live.begin(), live.end(), name) - live.begin();
            if (f.ns_use == NsUse::kRef) {
              w.u8(uint8_t(k));
            } else {
              w.u8(uint8_t(k - 1));
              live.erase(live.begin() + k);
            }
          }
          break;
        }
        case Kind::kDuration:
          if (op.u(i) <= 0xffff) {
            w.u8(0);
            w.le(op.u(i), 2);
          } else {
            w.u8(1);
            w.le(op.u(i), 4);
          }
          break;
        case Kind::kAddr:
          if (auto k = table_index(op.addr(i))) {
            w.u8(*k);
          } else {
            w.u8(kLiteralAddr);
            for (int b = 0; b < (op.addr(i).v6 ? 16 : 4); ++b) w.u8(op.addr(i).bytes[b]);
          }
          break;
        case Kind::kHex64:
          w.le(op.u(i), 8);
          break;
        case Kind::kData: {
          const Data& d = op.data(i);
          w.u8(uint8_t(d.mode));
          if (d.mode == Data::Mode::kFill) w.u8(d.fill);
          if (d.mode == Data::Mode::kHex) {
            if (!length_field(*it, op)) w.u8(uint8_t(d.hex.size()));
            for (uint8_t b : d.hex) w.u8(b);
          }
          break;
        }
      }
    }
  }
  return std::move(w.out);
}

trace::Trace decode(std::span<const uint8_t> bytes, const trace::Registry& registry,
                    const ByteTraceOptions& options) {
  return Codec(registry, options).decode(bytes);
}

std::optional<std::vector<uint8_t>> encode(const trace::Trace& trace,
                                           const trace::Registry& registry,
                                           const ByteTraceOptions& options, std::string* error) {
  return Codec(registry, options).encode(trace, error);
}

}  // namespace nv::fuzz
