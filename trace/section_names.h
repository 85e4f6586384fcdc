// The one name rule of concurrent sections.
//
// A name whose field is exclusive (FieldSpec::exclusive: an skb, which one
// context owns until it frees it) cannot be shared by racing lines: in one
// concurrent section (a run of "go" and "sched" lines), a name that a go line
// creates or destroys is used by no other go line. Sequentially the name
// rules would accept "go skb alloc s" then "go skb free s", but the two race,
// and a free that runs before its alloc has no meaning in the kernel. Names of
// other scopes may race (a packet into a namespace racing its deletion is the
// point of the netns subsystem); their engines refuse what the kernel
// refuses. The parser, check_ops() and the fuzz decoder apply the rule
// through this class.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "trace/op.h"

namespace nv::trace {

class SectionNames {
 public:
  // The field of op that uses a name another go line of the section created
  // or destroyed, if any (op has not been added).
  std::optional<size_t> conflict(const Op& op) const;
  // Records op, accepted: an ordinary line ends the section.
  void add(const Op& op);

 private:
  std::set<std::pair<std::string, std::string>> taken_;  // (scope, name)
};

}  // namespace nv::trace
