// Properties of deferred skb freeing on generated traces: model == impl
// (sequentially and under PCT or random schedules), and what the kernel's
// design promises whichever engine runs it, read from the event stream:
// every skb is freed exactly once; away from its allocating CPU only when
// that CPU is offline or its list is full; a list never grows past
// skb_defer_max; nothing stays deferred after its CPU ran rx; one kick per
// crossing of the half-way mark.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "properties/differential.h"
#include "runner/runner.h"
#include "runner/subsystem.h"
#include "sched/dfs_explorer.h"
#include "trace/defer/defer_ops.h"
#include "trace/parser.h"

namespace nv {
namespace {

using defer::kNrCpus;

RC_GTEST_PROP(DeferProperties, ModelAndImplAgree, ()) {
  props::differential_property("defer", {});
}

struct Seen {
  uint32_t line;
  trace::Event event;
};

// The design's promises over one engine's event stream, in the order the
// engine reports it (the model's is a linearization of every concurrent
// section; the impl's is, for traces without one). "" when they hold.
std::string check_stream(const trace::Trace& t, const std::vector<Seen>& stream) {
  std::map<uint32_t, const trace::Op*> at;
  for (const trace::Op& op : t.ops) at[op.line] = &op;
  auto str = [](const trace::Event& e, const char* k) { return std::get<std::string>(*e.get(k)); };
  auto num = [](const trace::Event& e, const char* k) { return std::get<uint64_t>(*e.get(k)); };

  uint64_t defer_max = defer::kDefaultDeferMax;
  auto sysctl = t.ops.begin();
  std::set<uint64_t> allocated, freed;
  std::array<std::set<uint64_t>, kNrCpus> pending;  // deferred, by owner
  std::array<bool, kNrCpus> kicked = {};            // since the last drain
  bool expect_kick = false;
  uint32_t expect_kick_cpu = 0;
  // After a sequential `cpu rx N` that ran, N's list is empty.
  auto after_line = [&](uint32_t line, bool offline) -> std::string {
    const trace::Op* op = at.count(line) ? at[line] : nullptr;
    if (!op || op->async || op->spec->name != "cpu rx" || offline) return "";
    const uint64_t cpu = op->u(defer::fields::kCpuId);
    if (!pending[cpu].empty())
      return "line " + std::to_string(line) + ": cpu rx left skbs deferred";
    return "";
  };
  uint32_t line = 0;
  bool offline = false;
  for (const Seen& s : stream) {
    const trace::Event& e = s.event;
    if (s.line != line) {
      if (std::string err = after_line(line, offline); !err.empty()) return err;
      line = s.line;
      offline = false;
    }
    // The sysctl writes before this line (never started with go).
    for (; sysctl != t.ops.end() && sysctl->line < s.line; ++sysctl) {
      uint32_t v = 0;
      if (sysctl->spec->name == "sysctl" &&
          sysctl->word_text(trace::core::kSysctlKey) == defer::kDeferMaxKey &&
          defer::write_defer_max(sysctl->name(trace::core::kSysctlNs),
                                 sysctl->u(trace::core::kSysctlValue), &v))
        defer_max = v;
    }
    const std::string where = "line " + std::to_string(s.line) + ": " + trace::to_text(e);
    const bool kick_expected = expect_kick;
    if (expect_kick && !(e.kind == "defer-kick" && num(e, "cpu") == expect_kick_cpu))
      return where + ": the crossing deferral before it did not kick";
    expect_kick = false;
    // Another subsystem's skbs (a reassembled datagram's fragments, NS/v4/ID@OFF)
    // are not allocated with skb alloc: their first event stands for it.
    const bool foreign = (e.kind == "skb-free" || e.kind == "skb-defer") &&
                         str(e, "skb").find('@') != std::string::npos && !freed.count(num(e, "id"));
    if (e.kind == "skb-alloc" || foreign) allocated.insert(num(e, "id"));
    if (e.kind == "skb-free") {
      const uint64_t id = num(e, "id"), cpu = num(e, "cpu"), owner = num(e, "alloc_cpu");
      const std::string reason = str(e, "reason");
      if (!allocated.count(id) || !freed.insert(id).second) return where + ": freed twice";
      if (reason == defer::kFreeDrain) {
        if (cpu != owner || !pending[cpu].erase(id)) return where + ": drained but not deferred";
      } else if (cpu != owner && reason != defer::kFreeOwnerOffline && reason != defer::kFreeFull) {
        return where + ": freed away from its CPU for no documented reason";
      }
      if (reason == defer::kFreeDrain && pending[cpu].empty()) kicked[cpu] = false;
    } else if (e.kind == "skb-defer") {
      const uint64_t cpu = num(e, "cpu"), count = num(e, "count");
      pending[cpu].insert(num(e, "id"));
      if (count != pending[cpu].size()) return where + ": count is not the list's length";
      if (count > defer_max) return where + ": list longer than skb_defer_max";
      // Restated, not defer::kicks(): the list went from half of defer_max to
      // one more.
      if (count - 1 == defer_max / 2 && !kicked[cpu]) {
        expect_kick = true;
        expect_kick_cpu = uint32_t(cpu);
      }
    } else if (e.kind == "defer-kick") {
      if (!kick_expected) return where + ": a kick without a crossing (or a second one)";
      kicked[num(e, "cpu")] = true;
    } else if (e.kind == "cpu-offline") {
      offline = true;
    }
  }
  if (expect_kick) return "the last deferral crossed half-way without a kick";
  if (std::string err = after_line(line, offline); !err.empty()) return err;
  // render() ends with every CPU up, every skb freed and every CPU's rx.
  if (freed != allocated) return "not every skb was freed by the end";
  return "";
}

RC_GTEST_PROP(DeferProperties, FreedOnceBoundedDrainedKickedOnce, ()) {
  const std::string text = *runner::find_subsystem("defer")->gen();
  trace::ParseResult parsed = trace::parse(text, runner::registry());
  RC_ASSERT(!parsed.error.has_value());
  bool concurrent = false;
  for (const trace::Op& op : parsed.trace.ops) concurrent |= op.async;
  std::map<std::string, std::vector<Seen>> streams;
  runner::RunOptions options;
  options.on_event = [&](std::string_view engine, uint32_t line, const trace::Event& e) {
    if (e.kind != "counters") streams[std::string(engine)].push_back({line, e});
  };
  const runner::RunResult result = runner::run(parsed.trace, options);
  RC_ASSERT(result.ok());
  for (const auto& [engine, stream] : streams) {
    if (engine != "model" && concurrent) continue;
    const std::string err = check_stream(parsed.trace, stream);
    if (!err.empty()) RC_FAIL(engine + ": " + err + "\n" + text);
  }
}

// The targeted races, every schedule (bounded-preemption DFS, sched/
// dfs_explorer.h): each one linearizable against the model, and
// defer-flush-race caught by some schedule of the free-against-drain race.
struct Race {
  const char* name;
  const char* text;
};
constexpr Race kRaces[] = {
    {"a remote free against its owner's drain",
     "skb alloc a cpu=0\nskb alloc b cpu=0\nskb free a cpu=1\n"
     "go cpu rx 0\ngo skb free b cpu=2\ncpu rx 0\n"},
    {"two remote frees crossing the half-way mark together",
     "sysctl init core.skb_defer_max 6\nskb alloc a cpu=0\nskb alloc b cpu=0\n"
     "skb alloc c cpu=0\nskb alloc d cpu=0\nskb free a cpu=1\nskb free b cpu=1\n"
     "go skb free c cpu=2\ngo skb free d cpu=3\ncpu rx 0\n"},
    {"two remote frees filling the last place",
     "sysctl init core.skb_defer_max 2\nskb alloc a cpu=0\nskb alloc b cpu=0\n"
     "skb alloc c cpu=0\nskb free a cpu=1\n"
     "go skb free b cpu=2\ngo skb free c cpu=3\ngo cpu rx 0\ncpu rx 0\n"},
    {"a remote free against its owner going down",
     "skb alloc a cpu=2\nskb alloc b cpu=2\nskb free a cpu=1\n"
     "go skb free b cpu=3\ngo cpu down 2\ngo cpu rx 2\ncpu up 2\ncpu rx 2\n"},
    {"a remote free against a sysctl write",
     "skb alloc a cpu=0\nskb alloc b cpu=0\nskb free a cpu=1\n"
     "go skb free b cpu=2\ngo sysctl init core.skb_defer_max 1\ncpu rx 0\n"},
};

// Runs `text` under every schedule with at most two preemptions; returns
// how many were run, or the first failure.
std::string explore(const std::string& text, const std::vector<std::string>& mutants,
                    uint64_t* schedules) {
  trace::ParseResult parsed = trace::parse("netverify-trace 1\n" + text, runner::registry());
  if (parsed.error) return "bad trace";
  sched::DfsExplorer dfs(/*preemption_bound=*/2);
  *schedules = 0;
  do {
    ++*schedules;
    const runner::RunResult r = runner::run(parsed.trace, {.mutants = mutants, .strategy = &dfs});
    if (!r.ok()) return runner::format_failure(r);
  } while (dfs.next_schedule());
  return "";
}

TEST(DeferRaces, EveryScheduleIsLinearizable) {
  for (const Race& race : kRaces) {
    uint64_t schedules = 0;
    EXPECT_EQ(explore(race.text, {}, &schedules), "") << race.name;
    EXPECT_GT(schedules, 3u) << race.name << ": no race explored";
    std::printf("%s: %llu schedules\n", race.name, (unsigned long long)schedules);
  }
}

TEST(DeferRaces, FlushRaceFoundBySomeSchedule) {
  uint64_t schedules = 0;
  EXPECT_NE(explore(kRaces[0].text, {"defer-flush-race"}, &schedules), "");
}

}  // namespace
}  // namespace nv
