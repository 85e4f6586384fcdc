#include "properties/netns/netns_shapes.h"

#include <set>
#include <string>
#include <vector>

#include "properties/shape_op.h"

namespace nv::gen {
namespace {

// The index of op's field that names a namespace it uses (does not create
// or delete), or SIZE_MAX.
size_t netns_use(const trace::Op& op) {
  if (op.spec->runner_only || op.spec->expect) return SIZE_MAX;
  for (size_t k = 0; k < op.spec->fields.size(); ++k) {
    const trace::FieldSpec& f = op.spec->fields[k];
    if (f.kind == trace::Kind::kName && f.scope == trace::kScopeNetns &&
        f.ns_use == trace::NsUse::kRef && op.has(k))
      return k;
  }
  return SIZE_MAX;
}

// A name of a..h that no op of `t` uses, or "".
std::string free_name(const trace::Trace& t) {
  std::set<std::string> named;
  for (const trace::Op& op : t.ops)
    for (size_t k = 0; k < op.spec->fields.size(); ++k)
      if (op.spec->fields[k].kind == trace::Kind::kName && op.has(k)) named.insert(op.name(k));
  for (char c = 'a'; c <= 'h'; ++c)
    if (!named.count(std::string(1, c))) return std::string(1, c);
  return "";
}

// The identity of the namespace a del at index `del` deletes: its add's
// place among the trace's adds (init is 0, every add takes the next).
uint64_t nsid_at(const trace::Trace& t, size_t del) {
  const std::string ns = t.ops[del].name(0);
  uint64_t adds = 0, id = 0;
  for (size_t i = 0; i < del; ++i) {
    if (t.ops[i].spec->id != trace::op_id("netns add")) continue;
    ++adds;
    if (t.ops[i].name(0) == ns) id = adds;
  }
  return id;
}

// The racers of a del at index `del`: a copy of `user` started just before
// it (no line may name a deleted namespace); or, started just after it, a
// tick past the reassembly timeouts or a maybe_get of the dying namespace's
// identity (which must fail once the last reference is gone).
void race(trace::Trace& t, size_t del, const trace::Op* user, uint64_t random) {
  t.ops[del].async = true;
  if (user) {
    trace::Op racer = *user;
    racer.async = true;
    t.ops.insert(t.ops.begin() + std::ptrdiff_t(del), std::move(racer));
    return;
  }
  const std::string ref = free_name(t);
  trace::Op racer = random % 3 == 2 && !ref.empty()
                        ? shape_op("netns maybe_get", {nsid_at(t, del), ref}, true)
                        : shape_op("tick", {uint64_t(random % 3 ? 60000 : 30000)}, true);
  t.ops.insert(t.ops.begin() + std::ptrdiff_t(del + 1), std::move(racer));
}

}  // namespace

bool netns_race_del(trace::Trace& t, uint64_t random) {
  const bool fresh = random % 2;
  random >>= 1;
  if (fresh) {
    // A new namespace for an op that names one: added before it, the op
    // moved into it, deleted right after it, racing.
    std::vector<size_t> users;
    for (size_t i = 0; i < t.ops.size(); ++i)
      if (netns_use(t.ops[i]) != SIZE_MAX) users.push_back(i);
    const std::string ns = free_name(t);
    if (users.empty() || ns.empty()) return false;
    const size_t u = users[random % users.size()];
    random /= users.size();
    t.ops[u].args[netns_use(t.ops[u])] = ns;
    t.ops[u].async = false;
    t.ops.insert(t.ops.begin() + std::ptrdiff_t(u + 1), shape_op("netns del", {ns}));
    t.ops.insert(t.ops.begin() + std::ptrdiff_t(u), shape_op("netns add", {ns}));
    const trace::Op user = t.ops[u + 1];
    race(t, u + 2, random % 2 ? &user : nullptr, random >> 1);
    return true;
  }
  std::vector<size_t> dels;
  for (size_t i = 0; i < t.ops.size(); ++i)
    if (t.ops[i].spec->id == trace::op_id("netns del")) dels.push_back(i);
  if (dels.empty()) return false;
  const size_t i = dels[random % dels.size()];
  random /= dels.size();
  const std::string ns = t.ops[i].name(0);
  std::vector<size_t> users;
  for (size_t j = 0; j < i; ++j)
    if (size_t k = netns_use(t.ops[j]); k != SIZE_MAX && t.ops[j].name(k) == ns) users.push_back(j);
  const trace::Op* user =
      !users.empty() && random % 2 ? &t.ops[users[(random >> 1) % users.size()]] : nullptr;
  const trace::Op copy = user ? *user : trace::Op{};
  race(t, i, user ? &copy : nullptr, random >> 8);
  return true;
}

}  // namespace nv::gen
