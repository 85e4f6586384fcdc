// NetnsImpl's cleanup designs in production mode (no scheduler: the worker
// is a real thread, RCU is liburcu's): every namespace dropped is freed by
// the time settle() returns, in one pass per namespace one at a time.
#include "impl/netns/netns_impl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runner/subsystem.h"
#include "sched/rcu.h"
#include "trace/parser.h"

namespace nv::netns {
namespace {

// Counts the passes that found work (netns-cleanup) and the namespaces they
// free.
class PassLog final : public trace::DeferredLog {
 public:
  std::vector<trace::Event>& begin() override {
    pass_.clear();
    return pass_;
  }
  void end() override {
    for (const trace::Event& e : pass_) {
      passes += e.kind == "netns-cleanup";
      freed += e.kind == "netns-free";
    }
  }
  int passes = 0;  // written by the worker, read after settle (flush orders them)
  int freed = 0;

 private:
  std::vector<trace::Event> pass_;
};

// Creates n namespaces with a device each, then drops them all.
void run(NetnsImpl& impl, int n) {
  std::string text = "pernet register p0\n";
  for (int i = 0; i < n; ++i)
    text += "netns add n" + std::to_string(i) + "\ndev add n" + std::to_string(i) + " d" +
            std::to_string(i) + "\n";
  for (int i = 0; i < n; ++i) text += "netns del n" + std::to_string(i) + "\n";
  trace::ParseResult r = trace::parse(text, runner::registry());
  ASSERT_FALSE(r.error) << r.error->message;
  std::vector<trace::Event> events;
  for (const trace::Op& op : r.trace.ops) impl.apply(op, events);
  impl.settle(events);
}

TEST(NetnsCleanup, OneAtATimeFreesEveryNamespaceInAPassOfItsOwn) {
  constexpr int kNets = 64;
  PassLog log;
  NetnsImpl impl({}, &log, Cleanup::kOneAtATime);
  const sched::RcuStats before = sched::rcu_stats();
  run(impl, kNets);
  const sched::RcuStats after = sched::rcu_stats();
  EXPECT_EQ(log.freed, kNets);
  EXPECT_EQ(log.passes, kNets);
  EXPECT_EQ(after.grace_periods - before.grace_periods, uint64_t(kNets));
  EXPECT_EQ(after.barriers - before.barriers, uint64_t(kNets));
  EXPECT_EQ(impl.find_invariant_violation(), std::nullopt);
}

TEST(NetnsCleanup, BatchedFreesEveryNamespaceInAtMostAPassEach) {
  constexpr int kNets = 64;
  PassLog log;
  NetnsImpl impl({}, &log);
  run(impl, kNets);
  EXPECT_EQ(log.freed, kNets);
  EXPECT_GE(log.passes, 1);
  EXPECT_LE(log.passes, kNets);  // how many depends on the worker's timing
  EXPECT_EQ(impl.find_invariant_violation(), std::nullopt);
}

}  // namespace
}  // namespace nv::netns
