#include "impl/frag/frag_impl.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::frag {
namespace {

const trace::Registry& registry() {
  return frag_registry();
}

// Applies a trace to an engine and records each op's events as text.
class Driver {
 public:
  explicit Driver(MutantSet mutants = {}) : impl(mutants) {}

  std::vector<std::string> run(std::string_view text) {
    trace::ParseResult parsed = trace::parse(prefix_ + std::string(text), registry());
    EXPECT_FALSE(parsed.error.has_value()) << parsed.error->message;
    std::vector<std::string> out;
    for (size_t i = ops_; i < parsed.trace.ops.size(); ++i) {
      std::vector<trace::Event> events;
      impl.apply(parsed.trace.ops[i], events);
      for (const trace::Event& e : events) out.push_back(trace::to_text(e));
      EXPECT_EQ(impl.find_invariant_violation(), std::nullopt);
    }
    // Later runs continue the same trace (namespace liveness carries over).
    prefix_ += std::string(text);
    if (!prefix_.empty() && prefix_.back() != '\n') prefix_ += '\n';
    ops_ = parsed.trace.ops.size();
    return out;
  }
  uint64_t get(std::string_view key, std::string_view ns = "init") const {
    trace::Snapshot snap;
    impl.snapshot(snap);
    return snap.get(ns, key);
  }

  FragImpl impl;

 private:
  std::string prefix_;
  size_t ops_ = 0;
};

// The FNV-1a of a datagram whose payload is the default pattern: the pattern
// depends on the absolute offset, so it is one fragment's pattern at off 0.
std::string pattern_fnv(uint32_t id, uint32_t len) {
  Fragment f;
  f.id = id;
  f.len = len;
  std::vector<uint8_t> bytes(len);
  fill_payload(f, bytes.data());
  Fnv1a64 h;
  h.update(bytes.data(), bytes.size());
  return trace::format_hex64(h.value());
}

// `truesize`: the delivered skb's (docs/trace.md, "Coalescing").
std::string deliver_v4(uint32_t id, uint32_t len, uint64_t truesize) {
  return "deliver ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=" +
         std::to_string(id) + " len=" + std::to_string(len) + " fnv1a64=" + pattern_fnv(id, len) +
         " ecn=not-ect df=0 truesize=" + std::to_string(truesize);
}

TEST(FragImpl, InOrderFragmentsAreReassembled) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=1 off=0 len=1480 mf=1\n"
                  "frag init v4 id=1 off=1480 len=1480 mf=1\n"),
            std::vector<std::string>{});
  EXPECT_EQ(d.get("queues.v4"), 1u);
  EXPECT_EQ(d.get("mem.v4"), kQueueTruesize[0] + 2 * frag_truesize(Family::kV4, 1480));
  EXPECT_EQ(d.run("frag init v4 id=1 off=2960 len=100 mf=0\n"),
            // the head's 2304, and two more heads stolen as page fragments
            std::vector<std::string>{deliver_v4(1, 3060, 2304 + 2048 + 576)});
  EXPECT_EQ(d.get("IpReasmReqds"), 3u);
  EXPECT_EQ(d.get("IpReasmOKs"), 1u);
  EXPECT_EQ(d.get("IpReasmFails"), 0u);
  EXPECT_EQ(d.get("mem.v4"), 0u);
  EXPECT_EQ(d.get("queues.v4"), 0u);
}

TEST(FragImpl, ReverseOrderIsReassembled) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=2 off=32 len=5 mf=0\n"
                  "frag init v4 id=2 off=24 len=8 mf=1\n"
                  "frag init v4 id=2 off=16 len=8 mf=1\n"
                  "frag init v4 id=2 off=8 len=8 mf=1\n"
                  "frag init v4 id=2 off=0 len=8 mf=1\n"),
            // the others copied into the head's tailroom
            std::vector<std::string>{deliver_v4(2, 37, 832)});
  EXPECT_EQ(d.get("mem.v4"), 0u);
}

TEST(FragImpl, UnfragmentedV4PacketIsDeliveredUncounted) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=3 off=0 len=40 mf=0\n"),
            std::vector<std::string>{deliver_v4(3, 40, 832)});
  EXPECT_EQ(d.get("IpReasmReqds"), 0u);
}

TEST(FragImpl, DuplicateIsDroppedAndTheQueueKept) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=1 off=0 len=16 mf=1\n"
                  "frag init v4 id=1 off=8 len=8 mf=1\n"),
            std::vector<std::string>{"drop ns=init family=v4 id=1 off=8 len=8 reason=dup"});
  EXPECT_EQ(d.run("frag init v4 id=1 off=16 len=8 mf=0\n"),
            std::vector<std::string>{deliver_v4(1, 24, 832)});
  EXPECT_EQ(d.get("IpReasmFails"), 0u);
}

TEST(FragImpl, DuplicateLastFragmentLeavesACompleteQueueUntilItTimesOut) {
  // The last fragment sets last_in and len before insertion; as a duplicate
  // it is then dropped and nothing checks for completion (ip_frag_queue).
  Driver d;
  EXPECT_EQ(d.run("frag init v6 id=1 off=0 len=16 mf=1\n"
                  "frag init v6 id=1 off=8 len=8 mf=0\n"),
            std::vector<std::string>{"drop ns=init family=v6 id=1 off=8 len=8 reason=dup"});
  EXPECT_EQ(d.impl.describe(),
            "now=0ms\n"
            "  init v6 src=::1 dst=::1 id=1 proto=0 len=16 meat=16 first last deadline=60000ms "
            "expiry=0 runs=[0,16)\n");
  EXPECT_EQ(d.run("frag init v6 id=1 off=0 len=8 mf=1\ntick 60s\n"),
            (std::vector<std::string>{
                "drop ns=init family=v6 id=1 off=0 len=8 reason=dup",
                "kill ns=init family=v6 id=1 reason=timeout",
                "icmp ns=init family=v6 src=::1 dst=::1 proto=253 id=1 type=3 code=1"}));
}

TEST(FragImpl, OverlapDiscardsTheDatagram) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=1 off=0 len=16 mf=1\n"
                  "frag init v4 id=1 off=8 len=16 mf=1\n"),
            std::vector<std::string>{"kill ns=init family=v4 id=1 reason=overlap"});
  EXPECT_EQ(d.get("IpExtReasmOverlaps"), 1u);
  EXPECT_EQ(d.get("IpReasmFails"), 1u);
  EXPECT_EQ(d.get("mem.v4"), 0u);
  EXPECT_EQ(d.get("queues.v4"), 0u);
}

TEST(FragImpl, FragmentCoveringTwoAdjacentRunsIsAnOverlap) {
  Driver d;
  EXPECT_EQ(d.run("frag init v6 id=1 off=8 len=8 mf=1\n"
                  "frag init v6 id=1 off=0 len=8 mf=1\n"
                  "frag init v6 id=1 off=0 len=16 mf=1\n"),
            std::vector<std::string>{"kill ns=init family=v6 id=1 reason=overlap"});
  EXPECT_EQ(d.get("IpExtReasmOverlaps"), 0u);  // v6 overlaps are not in this MIB
  EXPECT_EQ(d.get("Ip6ReasmFails"), 1u);
}

TEST(FragImpl, QueueTimesOutAfterIpfragTime) {
  Driver d;
  d.run(
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "frag init v6 id=1 off=0 len=8 mf=1\n");
  EXPECT_EQ(d.run("tick 29999ms\n"), std::vector<std::string>{});
  // The first fragment had arrived: Time Exceeded about it.
  EXPECT_EQ(
      d.run("tick 1ms\n"),
      (std::vector<std::string>{
          "kill ns=init family=v4 id=1 reason=timeout",
          "icmp ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=1 type=11 code=1"}));
  EXPECT_EQ(d.get("IpReasmTimeout"), 1u);
  EXPECT_EQ(d.get("IpReasmFails"), 1u);
  EXPECT_EQ(d.run("tick 30s\n"),
            (std::vector<std::string>{
                "kill ns=init family=v6 id=1 reason=timeout",
                "icmp ns=init family=v6 src=::1 dst=::1 proto=253 id=1 type=3 code=1"}));
  EXPECT_EQ(d.get("Ip6ReasmTimeout"), 1u);
}

TEST(FragImpl, TimeoutsAcrossNamespacesExpireInDeadlineThenCreationOrder) {
  Driver d;
  d.run(
      "netns add a\n"
      "sysctl a ipv4.ipfrag_time 10\n"
      "frag init v4 id=1 off=8 len=8 mf=1\n"  // deadline 30s, seq 0
      "frag a v4 id=2 off=8 len=8 mf=1\n"     // deadline 10s, seq 1
      "tick 20s\n"
      "frag a v4 id=3 off=8 len=8 mf=1\n"     // deadline 30s, seq 2
      "frag init v4 id=4 off=8 len=8 mf=1\n"  // deadline 50s, seq 3
      "sysctl init ipv4.ipfrag_time 10\n"
      "frag init v4 id=5 off=8 len=8 mf=1\n");  // deadline 30s, seq 4
  // (No first fragments: no Time Exceeded errors.)
  EXPECT_EQ(d.run("tick 10s\n"),
            (std::vector<std::string>{"kill ns=init family=v4 id=1 reason=timeout",
                                      "kill ns=a family=v4 id=3 reason=timeout",
                                      "kill ns=init family=v4 id=5 reason=timeout"}));
  EXPECT_EQ(d.get("queues.v4"), 1u);
}

TEST(FragImpl, MemoryLimitDropsEvenForExistingQueues) {
  Driver d;
  const uint64_t one = kQueueTruesize[0] + frag_truesize(Family::kV4, 8);
  d.run(
      "sysctl init ipv4.ipfrag_low_thresh 0\n"
      "sysctl init ipv4.ipfrag_high_thresh " +
      std::to_string(one) +
      "\n"
      "frag init v4 id=1 off=0 len=8 mf=1\n");
  EXPECT_EQ(d.get("mem.v4"), one);  // at the threshold, not above: still queuing
  EXPECT_EQ(d.run("frag init v4 id=1 off=8 len=8 mf=1\n"), std::vector<std::string>{});
  EXPECT_EQ(d.run("frag init v4 id=1 off=16 len=8 mf=0\n"),
            std::vector<std::string>{"drop ns=init family=v4 id=1 off=16 len=8 reason=mem-limit"});
  EXPECT_EQ(d.get("IpReasmFails"), 1u);
  // v6 has its own accounting.
  EXPECT_EQ(d.run("frag init v6 id=1 off=0 len=8 mf=1\n"), std::vector<std::string>{});
}

TEST(FragImpl, RefusedSysctlIsReportedAndChangesNothing) {
  Driver d;
  EXPECT_EQ(d.run("sysctl init ipv4.ipfrag_high_thresh 5\n"),
            std::vector<std::string>{"sysctl-refused ns=init key=ipv4.ipfrag_high_thresh value=5"});
  EXPECT_EQ(d.run("frag init v4 id=1 off=0 len=8 mf=1\n"), std::vector<std::string>{});
}

TEST(FragImpl, V6AtomicFragmentIsDeliveredAndCounted) {
  Driver d;
  std::vector<std::string> ev = d.run("frag init v6 id=70000 off=0 len=20 mf=0\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(
      ev[0].starts_with("deliver ns=init family=v6 src=::1 dst=::1 proto=253 id=70000 "
                        "len=20 "));
  EXPECT_EQ(d.get("Ip6ReasmReqds"), 1u);
  EXPECT_EQ(d.get("Ip6ReasmOKs"), 1u);
  EXPECT_EQ(d.get("queues.v6"), 0u);
}

TEST(FragImpl, V6DropsThatKeepTheQueue) {
  Driver d;
  EXPECT_EQ(
      d.run("frag init v6 id=1 off=0 len=4 mf=1 proto=6\n"
            "frag init v6 id=1 off=8 len=12 mf=1\n"
            "frag init v6 id=1 off=65528 len=16 mf=0\n"),
      (std::vector<std::string>{"drop ns=init family=v6 id=1 off=0 len=4 reason=v6-truncated",
                                "icmp ns=init family=v6 src=::1 dst=::1 proto=6 id=1 type=4 "
                                "code=3 pointer=0",
                                "drop ns=init family=v6 id=1 off=8 len=12 reason=v6-bad-len",
                                "icmp ns=init family=v6 src=::1 dst=::1 proto=253 id=1 type=4 "
                                "code=0 pointer=4",
                                "drop ns=init family=v6 id=1 off=65528 len=16 reason=v6-too-big",
                                "icmp ns=init family=v6 src=::1 dst=::1 proto=253 id=1 type=4 "
                                "code=0 pointer=42"}));
  EXPECT_EQ(d.get("queues.v6"), 1u);  // created by the second fragment, empty
  EXPECT_EQ(d.get("mem.v6"), kQueueTruesize[1]);
}

TEST(FragImpl, BadEndAndZeroLengthDiscard) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=1 off=0 len=16 mf=1\n"
                  "frag init v4 id=1 off=8 len=4 mf=0\n"),
            std::vector<std::string>{"kill ns=init family=v4 id=1 reason=bad-end"});
  EXPECT_EQ(d.run("frag init v4 id=2 off=8 len=7 mf=1\n"),
            std::vector<std::string>{"kill ns=init family=v4 id=2 reason=zero-len"});
  EXPECT_EQ(d.get("IpReasmFails"), 2u);
  EXPECT_EQ(d.get("mem.v4"), 0u);
}

TEST(FragImpl, OversizeV4DatagramIsKilled) {
  Driver d;
  EXPECT_EQ(d.run("frag init v4 id=1 off=65512 len=8 mf=0\n"
                  "frag init v4 id=1 off=0 len=65512 mf=1\n"),
            std::vector<std::string>{"kill ns=init family=v4 id=1 reason=oversize"});
  EXPECT_EQ(d.get("IpReasmFails"), 1u);
  EXPECT_EQ(d.get("mem.v4"), 0u);
}

TEST(FragImpl, TooFarReinitsTheQueueAndQueuesTheFragmentAfresh) {
  Driver d;
  d.run(
      "sysctl init ipv4.ipfrag_max_dist 2\n"
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "frag init v4 id=2 off=0 len=8 mf=1\n"
      "frag init v4 id=3 off=0 len=8 mf=1\n"
      "tick 5s\n");
  EXPECT_EQ(d.run("frag init v4 id=1 off=8 len=8 mf=0\n"),
            std::vector<std::string>{"kill ns=init family=v4 id=1 reason=too-far"});
  EXPECT_EQ(d.get("IpReasmFails"), 1u);
  EXPECT_EQ(d.get("queues.v4"), 3u);
  // The timer was re-armed at 5s: the queue now expires at 35s, after the
  // other two (30s), and without the first fragment the restart forgot.
  EXPECT_EQ(d.run("tick 30s\n"),
            (std::vector<std::string>{
                "kill ns=init family=v4 id=2 reason=timeout",
                "icmp ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=2 type=11 code=1",
                "kill ns=init family=v4 id=3 reason=timeout",
                "icmp ns=init family=v4 src=127.0.0.1 dst=127.0.0.1 proto=253 id=3 type=11 code=1",
                "kill ns=init family=v4 id=1 reason=timeout"}));
}

TEST(FragImpl, NetnsDelDestroysQueuesSilentlyAndAddStartsFresh) {
  Driver d;
  d.run(
      "netns add a\n"
      "frag a v4 id=1 off=0 len=8 mf=1\n"
      "frag a v6 id=1 off=0 len=8 mf=1\n"
      "sysctl a ipv4.ipfrag_time 1\n");
  EXPECT_EQ(d.get("IpReasmReqds", "a"), 1u);
  EXPECT_EQ(d.run("netns del a\n"), std::vector<std::string>{});
  trace::Snapshot snap;
  d.impl.snapshot(snap);
  EXPECT_EQ(snap.ns.count("a"), 0u);
  EXPECT_EQ(d.run("netns add a\ntick 2m\n"), std::vector<std::string>{});
  EXPECT_EQ(d.get("IpReasmReqds", "a"), 0u);
  EXPECT_EQ(d.get("mem.v4", "a"), 0u);
}

TEST(FragImpl, DescribeListsQueuesWithTheirRuns) {
  Driver d;
  d.run(
      "frag init v4 id=1 off=16 len=8 mf=1\n"
      "frag init v4 id=1 off=0 len=8 mf=1\n"
      "frag init v4 id=1 off=24 len=8 mf=0\n");
  // The source's inet_peer rid, which no event shows, is stated too.
  EXPECT_EQ(d.impl.describe(),
            "now=0ms\n"
            "  init peer=127.0.0.1:3\n"
            "  init v4 src=127.0.0.1 dst=127.0.0.1 id=1 proto=253 len=32 meat=24 first last "
            "deadline=30000ms expiry=0 rid=3 "
            "runs=[0,8)[16,32)\n");
  d.run("sysctl init ipv4.ipfrag_max_dist 0\nsysctl init ipv6.ip6frag_time 5\n");
  EXPECT_EQ(d.impl.describe(),
            "now=0ms\n"
            "  init time=30,5 max_dist=0 peer=127.0.0.1:3\n"
            "  init v4 src=127.0.0.1 dst=127.0.0.1 id=1 proto=253 len=32 meat=24 first last "
            "deadline=30000ms expiry=0 rid=3 "
            "runs=[0,8)[16,32)\n");
}

// A fast-path sink that keeps a copy of what it is handed.
struct RecordingSink final : DeliverSink {
  void deliver(const Fragment& head, std::span<const uint8_t> bytes, uint64_t) override {
    ids.push_back(head.id);
    data.assign(bytes.begin(), bytes.end());
  }
  void kill(std::string_view, Family, uint32_t id, std::string_view reason) override {
    kills.push_back(std::to_string(id) + ":" + std::string(reason));
  }
  std::vector<uint32_t> ids;
  std::vector<uint8_t> data;
  std::vector<std::string> kills;
};

Fragment fast_frag(uint32_t id, uint32_t off, uint32_t len, bool mf) {
  Fragment f;
  f.ns = "init";
  f.id = id;
  f.off = off;
  f.len = len;
  f.mf = mf;
  f.src.bytes = {10, 0, 0, 1};
  f.dst.bytes = {10, 0, 0, 2};
  return f;
}

TEST(FragImplFastPath, QueuesPayloadWithoutCopying) {
  FragImpl impl;
  RecordingSink sink;
  std::vector<uint8_t> a(16, 0xaa), b(8, 0xbb);
  impl.receive(fast_frag(7, 0, 16, true), a.data(), sink);
  a[3] = 0x33;  // the engine still points at the caller's bytes
  impl.receive(fast_frag(7, 16, 8, false), b.data(), sink);
  ASSERT_EQ(sink.ids, std::vector<uint32_t>{7});
  std::vector<uint8_t> want(a);
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(sink.data, want);
}

TEST(FragImplFastPath, ManyConcurrentQueuesAcrossNamespaces) {
  FragImpl impl;
  RecordingSink sink;
  std::vector<trace::Event> ignored;
  impl.apply(trace::parse("netns add b\n", registry()).trace.ops[0], ignored);
  // One source for every queue: keep ip_frag_too_far out of this test.
  impl.write_sysctl("init", "ipv4.ipfrag_max_dist", 0);
  impl.write_sysctl("b", "ipv4.ipfrag_max_dist", 0);
  std::vector<uint8_t> payload(64, 1);
  const uint32_t kQueues = 1000;  // debug builds check every invariant per op
  for (uint32_t i = 0; i < kQueues; ++i) {
    Fragment f = fast_frag(i % 65536, 0, 64, true);
    f.ns = i % 2 ? "init" : "b";
    f.src.bytes[2] = uint8_t(i >> 16);
    impl.receive(f, payload.data(), sink);
  }
  trace::Snapshot snap;
  impl.snapshot(snap);
  EXPECT_EQ(snap.get("init", "queues.v4") + snap.get("b", "queues.v4"), kQueues);
  for (uint32_t i = 0; i < kQueues; ++i) {
    Fragment f = fast_frag(i % 65536, 64, 8, false);
    f.ns = i % 2 ? "init" : "b";
    f.src.bytes[2] = uint8_t(i >> 16);
    impl.receive(f, payload.data(), sink);
  }
  EXPECT_EQ(sink.ids.size(), kQueues);
  EXPECT_EQ(sink.kills, std::vector<std::string>{});
  EXPECT_EQ(impl.find_invariant_violation(), std::nullopt);
}

// Each thread caches the namespace it found last and compares names a word
// at a time: names of one length that differ in one byte, at every position
// of every word and tail size, are two namespaces (a, b, a: neither cached
// lookup may answer for the other).
TEST(FragImplFastPath, NamesDifferingInOneByteAreTwoNamespaces) {
  for (size_t len : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32}) {
    for (size_t at = 0; at < len; ++at) {
      FragImpl impl;
      RecordingSink sink;
      const std::string a(len, 'n');
      std::string b = a;
      b[at] = 'm';
      std::vector<trace::Event> ignored;
      for (const std::string& name : {a, b})
        impl.apply(trace::parse("netns add " + name + "\n", registry()).trace.ops[0], ignored);
      std::vector<uint8_t> payload(8, 1);
      for (const std::string& name : {a, b, a}) {
        Fragment f = fast_frag(1, 0, 8, true);
        f.ns = name;
        impl.receive(f, payload.data(), sink);
      }
      trace::Snapshot snap;
      impl.snapshot(snap);
      EXPECT_EQ(snap.get(a, kReasmReqds[0]), 2u) << "len " << len << " at " << at;
      EXPECT_EQ(snap.get(b, kReasmReqds[0]), 1u) << "len " << len << " at " << at;
    }
  }
}

TEST(FragImplFastPath, ThousandsOfTinyFragmentsInOneQueue) {
  FragImpl impl;
  RecordingSink sink;
  impl.write_sysctl("init", "ipv4.ipfrag_max_dist", 0);
  impl.write_sysctl("init", "ipv4.ipfrag_high_thresh", uint64_t{1} << 40);
  // 8-byte fragments: every even one backwards, then the odd ones. (The
  // 10000-run tree is run_tree_test's; debug builds check the queue per op.)
  const uint32_t n = 2000;
  std::vector<uint8_t> payload(n * 8);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 7);
  for (uint32_t i = n; i-- > 0;)
    if (i % 2 == 0) impl.receive(fast_frag(1, i * 8, 8, i + 1 < n), payload.data() + i * 8, sink);
  for (uint32_t i = 1; i < n; i += 2)
    impl.receive(fast_frag(1, i * 8, 8, i + 1 < n), payload.data() + i * 8, sink);
  ASSERT_EQ(sink.ids.size(), 1u);
  EXPECT_EQ(sink.data, std::vector<uint8_t>(payload.begin(), payload.begin() + n * 8));
}

// Production mode (real threads, no scheduler): four threads receive the
// fragments of their own datagrams, last fragment first, two threads per
// namespace so that two share each table, while a fifth ticks the clock in
// 1 ms steps (never up to the 30 s timeout) and a sixth writes a sysctl.
// Every datagram is delivered whole and the engine ends empty. Under
// ThreadSanitizer (the tsan preset) this is the check that every shared field
// is under its lock.
TEST(FragImplThreads, RacingReceivesTicksAndSysctlsDeliverEveryDatagram) {
  FragImpl impl;
  std::vector<trace::Event> ignored;
  impl.apply(trace::parse("netns add a\n", registry()).trace.ops[0], ignored);
  impl.write_sysctl("init", "ipv4.ipfrag_max_dist", 0);
  impl.write_sysctl("a", "ipv4.ipfrag_max_dist", 0);
  constexpr uint32_t kThreads = 4, kDatagrams = 150, kPieces = 6, kPiece = 64;
  std::vector<uint8_t> payload(kPieces * kPiece);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 13 + 1);
  struct Counting final : DeliverSink {
    void deliver(const Fragment&, std::span<const uint8_t> bytes, uint64_t) override {
      ++delivered;
      whole = whole && bytes.size() == want.size() &&
              std::memcmp(bytes.data(), want.data(), want.size()) == 0;
    }
    void kill(std::string_view, Family, uint32_t, std::string_view) override { ++killed; }
    std::vector<uint8_t> want;
    uint32_t delivered = 0, killed = 0;
    bool whole = true;
  };
  std::vector<Counting> sinks(kThreads + 1);
  for (Counting& c : sinks) c.want = payload;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t d = 0; d < kDatagrams; ++d) {
        for (uint32_t p = kPieces; p-- > 0;) {
          Fragment f = fast_frag(t * 1000 + d, p * kPiece, kPiece, p + 1 < kPieces);
          f.ns = t % 2 ? "a" : "init";
          impl.receive(f, payload.data() + p * kPiece, sinks[t]);
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 2000; ++i) impl.tick(1, sinks[kThreads]);
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i)
      EXPECT_TRUE(impl.write_sysctl("a", "ipv4.ipfrag_time", 30 + i % 2));
  });
  for (std::thread& th : threads) th.join();
  for (uint32_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(sinks[t].delivered, kDatagrams) << "thread " << t;
    EXPECT_TRUE(sinks[t].whole) << "thread " << t;
    EXPECT_EQ(sinks[t].killed, 0u) << "thread " << t;
  }
  EXPECT_EQ(sinks[kThreads].killed, 0u);
  trace::Snapshot snap;
  impl.snapshot(snap);
  EXPECT_EQ(snap.get("init", "queues.v4") + snap.get("a", "queues.v4"), 0u);
  EXPECT_EQ(snap.get("init", "mem.v4") + snap.get("a", "mem.v4"), 0u);
  EXPECT_EQ(snap.get("init", "IpReasmOKs") + snap.get("a", "IpReasmOKs"), kThreads * kDatagrams);
  EXPECT_EQ(impl.find_invariant_violation(), std::nullopt);
}

}  // namespace
}  // namespace nv::frag
