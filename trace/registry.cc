#include "trace/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace nv::trace {

size_t OpSpec::field_index(std::string_view key) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].key == key) return i;
  return SIZE_MAX;
}

const OpSpec& Registry::add_op(OpSpec spec) {
  for (FieldSpec& f : spec.fields) {
    if (f.kind == Kind::kWord) f.words = &vocabs_[f.vocab];
    if (f.positional) f.required = true;
  }
  spec.id = op_id(spec.name);
  for (const auto& op : ops_) {
    if (op->id == spec.id) {
      std::fprintf(stderr, "netverify: op '%s' registered twice (or its id clashes with '%s')\n",
                   spec.name.c_str(), op->name.c_str());
      std::abort();
    }
  }
  ops_.push_back(std::make_unique<OpSpec>(std::move(spec)));
  return *ops_.back();
}

void Registry::add_word(std::string_view vocab, std::string word) {
  auto& words = vocabs_[std::string(vocab)];
  if (std::find(words.begin(), words.end(), word) == words.end()) words.push_back(std::move(word));
}

const OpSpec* Registry::find(std::string_view name) const {
  for (const auto& op : ops_)
    if (op->name == name) return op.get();
  return nullptr;
}

const std::vector<std::string>& Registry::vocab(std::string_view name) const {
  static const std::vector<std::string> kEmpty;
  auto it = vocabs_.find(name);
  return it == vocabs_.end() ? kEmpty : it->second;
}

void register_core_ops(Registry& r) {
  FieldSpec ns{.key = "NS", .kind = Kind::kName, .positional = true, .help = "namespace"};
  r.add_op({.name = "tick",
            .subsystem = "core",
            .help = "advance the virtual clock and run every timer that falls due",
            .fields = {{.key = "DURATION",
                        .kind = Kind::kDuration,
                        .positional = true,
                        .help = "250ms, 30s, 2m"}}});
  r.add_op({.name = "sched",
            .subsystem = "core",
            .help = "a scheduling decision: run the K-th runnable thread (K modulo their "
                    "number) to its next scheduling point",
            .fields = {{.key = "K", .positional = true, .max = 255, .help = "which thread"}},
            .runner_only = true});
  r.add_op(
      {.name = "sysctl",
       .subsystem = "core",
       .help = "write a sysctl in a namespace, validated as the kernel validates it",
       .fields = {ns,
                  {.key = "KEY",
                   .kind = Kind::kWord,
                   .positional = true,
                   .vocab = std::string(kVocabSysctl),
                   .help = "sysctl name"},
                  {.key = "VALUE", .kind = Kind::kUint, .positional = true, .help = "value"}}});
  r.add_op({.name = "expect counter",
            .subsystem = "core",
            .help = "the namespace's counter has this value now",
            .fields = {ns,
                       {.key = "NAME",
                        .kind = Kind::kWord,
                        .positional = true,
                        .vocab = std::string(kVocabCounter),
                        .help = "nstat name"},
                       {.key = "VALUE", .kind = Kind::kUint, .positional = true, .help = "value"}},
            .expect = [](const Op& op, const std::vector<Event>&,
                         const Snapshot& snap) -> std::optional<std::string> {
              uint64_t have = snap.get(op.name(0), op.word_text(1));
              if (have == op.u(2)) return std::nullopt;
              return op.word_text(1) + " is " + std::to_string(have);
            }});
}

Event sysctl_refused_event(const Op& op) {
  Event e{"sysctl-refused", {}};
  e.fields.reserve(3);
  e.add("ns", op.name(core::kSysctlNs))
      .add("key", op.word_text(core::kSysctlKey))
      .add("value", op.u(core::kSysctlValue));
  return e;
}

}  // namespace nv::trace
