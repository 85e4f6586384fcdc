// The registry of the trace language: every operation and every vocabulary
// (sysctl keys, counter names, address families) that the parser accepts.
//
// The core registers the operations every subsystem shares (tick, sysctl,
// expect counter, and the runner's sched); the netns subsystem registers namespaces (netns add|del,
// trace/netns/netns_ops.h); each subsystem then adds its
// own operations and words. A Registry is built once at start-up (see
// runner/subsystems.h) and is immutable afterwards.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/op.h"

namespace nv::trace {

// Vocabulary names used by the core.
inline constexpr std::string_view kVocabSysctl = "sysctl";
inline constexpr std::string_view kVocabCounter = "counter";

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds an operation. Word fields are bound to their vocabulary, which may
  // still grow afterwards.
  const OpSpec& add_op(OpSpec spec);
  void add_word(std::string_view vocab, std::string word);

  const OpSpec* find(std::string_view name) const;
  const std::vector<std::string>& vocab(std::string_view name) const;
  const std::vector<std::unique_ptr<OpSpec>>& ops() const { return ops_; }

 private:
  std::vector<std::unique_ptr<OpSpec>> ops_;
  std::map<std::string, std::vector<std::string>, std::less<>> vocabs_;
};

// Field indices of the core operations.
namespace core {
inline constexpr size_t kSchedK = 0;                                      // sched K
inline constexpr size_t kTickDuration = 0;                                // tick DURATION
inline constexpr size_t kSysctlNs = 0, kSysctlKey = 1, kSysctlValue = 2;  // sysctl NS KEY VALUE
}  // namespace core

void register_core_ops(Registry& registry);

// A sysctl write the kernel would refuse (EINVAL): the event every
// subsystem reports for its own keys (docs/trace.md, "sysctl-refused").
Event sysctl_refused_event(const Op& sysctl_op);

}  // namespace nv::trace
