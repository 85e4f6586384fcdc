// DstImpl under the deterministic scheduler, for what the model cannot say
// because the designs differ there: in every design, every freed entry is
// destroyed once unreferenced within the deadline (the worker and the timer
// on the virtual clock, RCU after a grace period), and never before; a
// reference dropped on a destroyed entry fails the thread.
#include "impl/dst/dst_impl.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "impl/netns/netns_impl.h"
#include "runner/subsystem.h"
#include "sched/random_strategy.h"
#include "sched/scheduler.h"
#include "trace/parser.h"

namespace nv::dst {
namespace {

// A scheduler whose clock moves only when the test says (as the runner's),
// the netns engine and a DstImpl on it.
class World {
 public:
  explicit World(Design design, MutantSet mutants = {})
      : sched_(sched::Scheduler::Options{.idle_fires_timers = false}),
        dst_(host_, design, mutants) {}

  // Applies each line from the scheduler's context (async: each on a
  // thread of its own), then runs what it started to the end.
  void apply(const std::string& text, bool async = false) {
    text_ += text;
    trace::ParseResult r = trace::parse(text_, runner::registry());
    ASSERT_FALSE(r.error) << r.error->message;
    for (; applied_ < r.trace.ops.size(); ++applied_) {
      ops_.push_back(r.trace.ops[applied_]);
      const trace::Op* op = &ops_.back();
      auto run = [this, op] {
        std::vector<trace::Event> ignored;
        host_.apply(*op, ignored);
        dst_.apply(*op, ignored);
      };
      if (async)
        sched_.spawn("line", run);
      else
        run();
      drain();
    }
  }
  // Moves the clock by ms, running each timer's work as it falls due.
  void advance(uint64_t ms) {
    const uint64_t target = sched_.now_ms() + ms;
    while (auto at = sched_.next_deadline()) {
      if (*at > target) break;
      sched_.advance(*at - sched_.now_ms());
      drain();
    }
    sched_.advance(target - sched_.now_ms());
  }
  void drain() { status_ = sched_.run(strategy_, 100000); }

  sched::Scheduler& sched() { return sched_; }
  DstImpl& dst() { return dst_; }
  sched::RunStatus status() const { return status_; }

 private:
  sched::Scheduler sched_;
  netns::NetnsImpl host_;
  DstImpl dst_;
  sched::RandomStrategy strategy_{1};
  std::string text_;  // every line so far (names must stay alive)
  size_t applied_ = 0;
  std::deque<trace::Op> ops_;  // stable addresses for the threads
  sched::RunStatus status_ = sched::RunStatus::kOk;
};

class EveryDesign : public testing::TestWithParam<Design> {};

TEST_P(EveryDesign, DestroysEachEntryAfterItsLastReferenceWithinTheDeadline) {
  World w(GetParam());
  std::string setup = "dev add init d0\n";
  for (int i = 0; i < 20; ++i) {
    const std::string e = "e" + std::to_string(i), r = "r" + std::to_string(i);
    setup += "dst alloc " + e + " d0\ndst hold " + e + " " + r + "\ndst free " + e + "\n";
  }
  w.apply(setup);
  w.advance(60000);  // the collectors run and find everything held
  EXPECT_EQ(w.dst().collector().destroyed(), 0u) << "destroyed while referenced";
  std::string puts;
  for (int i = 0; i < 20; ++i) puts += "dst put r" + std::to_string(i) + "\n";
  w.apply(puts);
  w.advance(kGcDeadlineMs);
  EXPECT_EQ(w.dst().collector().destroyed(), 20u);
  EXPECT_EQ(w.status(), sched::RunStatus::kOk);
}

INSTANTIATE_TEST_SUITE_P(Dst, EveryDesign,
                         testing::Values(Design::kWorker, Design::kTimer, Design::kRcu),
                         [](const auto& info) {
                           return std::string(kDesignNames[size_t(info.param)]);
                         });

TEST(DstPoison, APutOnADestroyedEntryFailsTheThread) {
  World w(Design::kWorker, MutantSet{DstMutant::kDestroyReferenced});
  w.apply("dev add init d0\ndst alloc e0 d0\ndst hold e0 r0\ndst free e0\n");
  w.advance(kGcMinMs);  // the mutant's worker destroys the held entry
  EXPECT_EQ(w.dst().collector().destroyed(), 1u);
  w.apply("dst put r0\n", /*async=*/true);
  EXPECT_EQ(w.status(), sched::RunStatus::kFailure);
  ASSERT_TRUE(w.sched().failure());
  EXPECT_NE(w.sched().failure()->message.find("put on a destroyed entry e0/1"), std::string::npos)
      << w.sched().failure()->message;
}

}  // namespace
}  // namespace nv::dst
