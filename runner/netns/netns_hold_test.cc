// PernetHost::hold and put_hold, the same in both netns engines: a cleanup
// pass leaves a namespace that an outside reference holds dying and reports
// the wait, naming the oldest holder; the put of the last reference frees
// it; a namespace no pass waited for is freed by its pass as before.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "impl/netns/netns_impl.h"
#include "model/netns/netns_model.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::netns {
namespace {

// The cleanup pass's events, for the impl (its worker reports to a log).
class Log final : public trace::DeferredLog {
 public:
  std::vector<trace::Event>& begin() override { return events; }
  void end() override {}
  std::vector<trace::Event> events;  // written by the worker, read after settle
};

std::vector<std::string> kinds(const std::vector<trace::Event>& events) {
  std::vector<std::string> out;
  for (const trace::Event& e : events)
    if (e.kind == "netns-cleanup-wait" || e.kind == "netns-free") out.push_back(trace::to_text(e));
  // The impl's real worker may take t and u in one pass or two.
  std::sort(out.begin(), out.end());
  return out;
}

template <class Engine>
void check(Engine& engine, std::vector<trace::Event>& pass) {
  trace::ParseResult r =
      trace::parse("netns add t\nnetns add u\nnetns del t\nnetns del u\n", runner::registry());
  ASSERT_FALSE(r.error);
  engine.hold(1, "skb a");
  engine.hold(1, "skb b");
  std::vector<trace::Event> events;
  for (const trace::Op& op : r.trace.ops) engine.apply(op, events);
  engine.settle(events);
  pass.insert(pass.end(), events.begin(), events.end());
  // u (nsid 2) is freed; t waits, held twice, by "skb a" first.
  const std::vector<std::string> want = {"netns-cleanup-wait ns=t#1 nsid=1 holds=2 holder=skb a",
                                         "netns-free ns=u#2 nsid=2"};
  EXPECT_EQ(kinds(pass), want);
  trace::Snapshot snap;
  engine.snapshot(snap);
  EXPECT_EQ(snap.get("t#1", "netns.dying"), 1u);
  std::vector<trace::Event> put;
  engine.put_hold(1, "skb a", put);
  EXPECT_TRUE(put.empty());
  engine.put_hold(1, "skb b", put);
  EXPECT_EQ(kinds(put), std::vector<std::string>{"netns-free ns=t#1 nsid=1"});
  snap = {};
  engine.snapshot(snap);
  EXPECT_EQ(snap.ns.count("t#1"), 0u);
}

TEST(NetnsHold, ModelLeavesAHeldNamespaceWaitingUntilTheLastPut) {
  NetnsModel model;
  std::vector<trace::Event> pass;
  check(model, pass);
}

TEST(NetnsHold, ImplLeavesAHeldNamespaceWaitingUntilTheLastPut) {
  Log log;
  NetnsImpl impl({}, &log);  // production mode: a real worker thread
  check(impl, log.events);
}

}  // namespace
}  // namespace nv::netns
