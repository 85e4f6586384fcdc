#include "fuzz/byte_trace.h"

#include <algorithm>
#include <cstring>

#include "trace/section_names.h"

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
  bool async = false;            // a "go OP" entry of the table
  std::vector<size_t> optional;  // indices of optional fields, in order
  std::vector<int> bit;          // per field: its presence bit, or -1
  std::vector<bool> decoded;     // per field: false for a late field the entry does not name
  std::vector<int> width;        // per field: bytes of a wide kUint
  // Per kWord field: the registry's indices of the words it decodes among,
  // in the table's order.
  std::vector<std::vector<uint32_t>> words;
};

using Words = std::map<std::string, std::vector<std::string>, std::less<>>;

// `late`: the late fields the table entry names ("frag+ecn": {"ecn"}).
Plan plan_of(const OpSpec& spec, const Words& words, const std::vector<std::string>& late) {
  Plan p;
  p.spec = &spec;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    const FieldSpec& f = spec.fields[i];
    const bool decoded = !f.late || std::find(late.begin(), late.end(), f.key) != late.end();
    p.decoded.push_back(decoded);
    p.bit.push_back(f.required || !decoded ? -1 : int(p.optional.size()));
    if (!f.required && decoded) p.optional.push_back(i);
    p.width.push_back(uint_width(f));
    p.words.emplace_back();
    if (f.kind != Kind::kWord) continue;
    const std::vector<std::string>& all = *f.words;
    auto frozen = words.find(f.vocab);
    if (frozen == words.end()) {
      for (uint32_t k = 0; k < all.size(); ++k) p.words.back().push_back(k);
      continue;
    }
    for (const std::string& w : frozen->second)
      if (auto at = std::find(all.begin(), all.end(), w); at != all.end())
        p.words.back().push_back(uint32_t(at - all.begin()));
  }
  return p;
}

// The position of a registry word among a field's frozen words, or -1.
int word_position(const Plan& plan, size_t i, uint32_t word) {
  const std::vector<uint32_t>& w = plan.words[i];
  auto at = std::find(w.begin(), w.end(), word);
  return at == w.end() ? -1 : int(at - w.begin());
}

// One op table: the ops a selector byte picks from, in their frozen order.
std::vector<Plan> table_of(const trace::Registry& r, const std::vector<std::string>& names,
                           const Words& words) {
  std::vector<Plan> out;
  for (const std::string& entry : names) {
    // "go OP+FIELD+FIELD": started on a thread, with these late fields.
    std::vector<std::string> late;
    size_t plus = entry.find('+');
    const std::string name = entry.substr(0, plus);
    while (plus != std::string::npos) {
      const size_t next = entry.find('+', plus + 1);
      late.push_back(entry.substr(plus + 1, next - plus - 1));
      plus = next;
    }
    const bool async = name.starts_with("go ");
    const OpSpec* spec = r.find(async ? std::string_view(name).substr(3) : name);
    if (!spec || spec->expect) continue;
    out.push_back(plan_of(*spec, words, late));
    out.back().async = async;
  }
  return out;
}

std::optional<uint64_t> length_of(const FieldSpec& f, const Op& op) {
  if (f.length_field == SIZE_MAX || !op.has(f.length_field)) return std::nullopt;
  return op.u(f.length_field);
}

bool is_v6(const FieldSpec& f, const Op& op) {
  return f.family_field != SIZE_MAX && op.has(f.family_field) && op.word(f.family_field) == 1;
}

// Name table of a scope: the decoder names what it creates from it.
std::string table_name(const FieldSpec& f, size_t k) {
  if (f.scope == trace::kScopeNetns) return kNames[k % kNameCount];
  return f.scope + std::to_string(k % kNameCount);
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

// Live names of each scope in creation order ("init" first among
// namespaces), as both sides see them.
struct Live {
  std::map<std::string, std::vector<std::string>, std::less<>> scopes = {
      {std::string(trace::kScopeNetns), {"init"}}};
  std::vector<std::string>& of(const FieldSpec& f) { return scopes[f.scope]; }
  // Names of the netns scope past "init" may be destroyed; all of any other.
  static size_t first_destroyable(const FieldSpec& f) { return f.scope == trace::kScopeNetns; }
};

}  // namespace

struct Codec::Plans {
  // One table, or kSlots tables for a slotted target (empty where no
  // subsystem holds the slot).
  std::vector<std::vector<Plan>> tables;
  bool slotted = false;
  size_t max_ops;
};

Codec::Codec(const trace::Registry& registry, const ByteTraceOptions& options) {
  auto plans = std::make_unique<Plans>();
  plans->max_ops = options.max_ops;
  plans->slotted = !options.slots.empty();
  if (plans->slotted) {
    plans->tables.resize(kSlots);
    for (size_t s = 0; s < options.slots.size() && s < kSlots; ++s)
      plans->tables[s] = table_of(registry, options.slots[s],
                                  s < options.slot_words.size() ? options.slot_words[s] : Words{});
  } else {
    plans->tables.push_back(table_of(registry, options.ops, options.words));
  }
  plans_ = std::move(plans);
}
Codec::~Codec() = default;

trace::Trace Codec::decode(std::span<const uint8_t> bytes) const {
  trace::Trace out;
  out.ops.reserve(std::min(plans_->max_ops, bytes.size() / 2));
  Live live;
  trace::SectionNames section;
  Reader in(bytes);
  while (!in.done() && out.ops.size() < plans_->max_ops) {
    const std::vector<Plan>& plans =
        plans_->slotted ? plans_->tables[in.u8() % kSlots] : plans_->tables[0];
    if (plans.empty()) {
      if (plans_->slotted) continue;  // a slot no subsystem holds: the record is skipped
      break;
    }
    const Plan& plan = plans[in.u8() % plans.size()];
    const OpSpec& spec = *plan.spec;
    Op op;
    op.spec = &spec;
    op.async = plan.async;
    op.args.assign(spec.fields.size(), std::nullopt);
    const uint8_t presence = plan.optional.empty() ? 0 : in.u8();
    bool valid = true;
    // Names created and destroyed by this record: (scope field, name).
    std::vector<std::pair<const FieldSpec*, std::string>> created, destroyed;
    for (size_t i = 0; i < spec.fields.size() && valid; ++i) {
      const FieldSpec& f = spec.fields[i];
      if (!plan.decoded[i]) continue;
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
          if (plan.words[i].empty())
            valid = false;
          else
            op.args[i] = trace::Word{plan.words[i][in.u8() % plan.words[i].size()]};
          break;
        case Kind::kName: {
          uint8_t k = in.u8();
          std::vector<std::string>& names = live.of(f);
          const size_t first = Live::first_destroyable(f);
          if (f.ns_use == NsUse::kRef) {
            valid = !names.empty();
            if (valid) op.args[i] = names[k % names.size()];
          } else if (f.ns_use == NsUse::kCreate) {
            std::string name = table_name(f, k);
            valid = std::find(names.begin(), names.end(), name) == names.end();
            op.args[i] = name;
            created.emplace_back(&f, std::move(name));
          } else {
            valid = names.size() > first;
            if (valid) {
              op.args[i] = names[first + k % (names.size() - first)];
              destroyed.emplace_back(&f, op.name(i));
            }
          }
          break;
        }
        case Kind::kDuration:
          op.args[i] = in.u8() % 2 ? in.le(4) : in.le(2);
          break;
        case Kind::kAddr: {
          const bool v6 = is_v6(f, op);
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
              if (auto len = length_of(f, op)) {
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
    if (section.conflict(op)) continue;
    section.add(op);
    for (auto& [f, name] : created) live.of(*f).push_back(std::move(name));
    for (auto& [f, name] : destroyed) std::erase(live.of(*f), name);
    op.line = uint32_t(out.ops.size() + 2);  // as printed, after the header line
    out.ops.push_back(std::move(op));
  }
  return out;
}

std::optional<std::vector<uint8_t>> Codec::encode(const trace::Trace& trace,
                                                  std::string* error) const {
  Writer w;
  Live live;
  // (scope, trace name) -> table name
  std::vector<std::pair<std::pair<std::string, std::string>, std::string>> renamed;
  auto rename = [&](const FieldSpec& f, const std::string& n) {
    for (const auto& [from, to] : renamed)
      if (from.first == f.scope && from.second == n) return to;
    return n;
  };
  for (const Op& op : trace.ops) {
    if (op.spec->expect) continue;
    // The first table holding the op with its words (a slotted target: the
    // first slot).
    auto fits = [&](const Plan& p) {
      if (p.spec != op.spec || p.async != op.async) return false;
      for (size_t i = 0; i < op.spec->fields.size(); ++i) {
        if (op.has(i) && !p.decoded[i]) return false;
        if (op.has(i) && op.spec->fields[i].kind == Kind::kWord &&
            word_position(p, i, op.word(i)) < 0)
          return false;
      }
      return true;
    };
    const Plan* it = nullptr;
    for (size_t t = 0; t < plans_->tables.size() && !it; ++t) {
      const std::vector<Plan>& plans = plans_->tables[t];
      for (size_t k = 0; k < plans.size() && !it; ++k) {
        if (!fits(plans[k])) continue;
        it = &plans[k];
        if (plans_->slotted) w.u8(uint8_t(t));
        w.u8(uint8_t(k));
      }
    }
    if (!it) {
      *error = "line " + std::to_string(op.line) + ": '" + op.spec->name +
               "' (with these words and fields) is not among the fuzzed subsystems' ops";
      return std::nullopt;
    }
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
          w.u8(uint8_t(word_position(*it, i, op.word(i))));
          break;
        case Kind::kName: {
          std::vector<std::string>& names = live.of(f);
          if (f.ns_use == NsUse::kCreate) {
            auto is_live = [&](size_t k) {
              return std::find(names.begin(), names.end(), table_name(f, k)) != names.end();
            };
            // A table name keeps its slot; any other name takes the first free one.
            size_t k = 0;
            while (k < kNameCount && table_name(f, k) != op.name(i)) ++k;
            if (k == kNameCount || is_live(k)) {
              k = 0;
              while (k < kNameCount && is_live(k)) ++k;
            }
            if (k == kNameCount) {
              *error = "more than " + std::to_string(kNameCount) + " live names of " + f.scope;
              return std::nullopt;
            }
            std::erase_if(renamed, [&](const auto& kv) {
              return kv.first.first == f.scope && kv.first.second == op.name(i);
            });
            renamed.push_back({{f.scope, op.name(i)}, table_name(f, k)});
            names.push_back(table_name(f, k));
            w.u8(uint8_t(k));
          } else {
            const std::string name = rename(f, op.name(i));
            size_t k = std::find(names.begin(), names.end(), name) - names.begin();
            if (f.ns_use == NsUse::kRef) {
              w.u8(uint8_t(k));
            } else {
              w.u8(uint8_t(k - Live::first_destroyable(f)));
              names.erase(names.begin() + k);
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
            if (!length_of(f, op)) w.u8(uint8_t(d.hex.size()));
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
