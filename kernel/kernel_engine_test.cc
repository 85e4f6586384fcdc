// The kernel engine against the running kernel. Every test that needs a
// network namespace is skipped where the process may not create one.
#include "kernel/kernel_engine.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/registry.h"

namespace nv::kernel {
namespace {

const trace::Registry& registry() {
  return frag::frag_registry();
}

trace::Trace parse(const std::string& text) {
  trace::ParseResult r = trace::parse(text, registry());
  EXPECT_FALSE(r.error) << (r.error ? r.error->message : "");
  return std::move(r.trace);
}

size_t open_fds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) ++n;
  closedir(d);
  return n;
}

// Runs the trace; skips the test where namespaces cannot be created.
#define RUN_OR_SKIP(result, text)                                                          \
  KernelResult result = run(parse(text), {});                                              \
  if (result.status == KernelResult::Status::kUnavailable) GTEST_SKIP() << result.message; \
  ASSERT_EQ(result.status, KernelResult::Status::kOk) << result.message

std::string field(const trace::Event& e, const char* key) {
  const trace::EventValue* v = e.get(key);
  if (!v) return "<absent>";
  if (const auto* n = std::get_if<uint64_t>(v)) return std::to_string(*n);
  return std::get<std::string>(*v);
}

TEST(KernelEngine, ReassemblesAndCounts) {
  RUN_OR_SKIP(r,
              "frag init v4 id=5 off=16 len=8 mf=0\n"
              "frag init v4 id=5 off=0 len=16 mf=1\n"
              "expect deliver init v4 id=5\n"
              "frag init v6 id=77777 off=8 len=8 mf=0 proto=17\n"
              "frag init v6 id=77777 off=0 len=8 mf=1\n");
  ASSERT_EQ(r.steps.size(), 4u);  // the expectation has no step
  EXPECT_EQ(r.steps[0].line, 1u);
  EXPECT_TRUE(r.steps[0].events.empty());
  ASSERT_EQ(r.steps[1].events.size(), 1u);
  const trace::Event& v4 = r.steps[1].events[0];
  EXPECT_EQ(v4.kind, "deliver");
  EXPECT_EQ(field(v4, "id"), "5");
  EXPECT_EQ(field(v4, "len"), "24");
  EXPECT_EQ(field(v4, "proto"), "253");
  EXPECT_EQ(field(v4, "src"), "127.0.0.1");
  ASSERT_EQ(r.steps[3].events.size(), 1u);
  const trace::Event& v6 = r.steps[3].events[0];
  EXPECT_EQ(field(v6, "id"), "77777");   // the fragment's that completed it
  EXPECT_EQ(field(v6, "proto"), "253");  // the first fragment's next header
  EXPECT_EQ(field(v6, "dst"), "::1");
  EXPECT_EQ(field(v6, "len"), "16");
  EXPECT_EQ(r.steps[3].counters.get("init", "IpReasmReqds"), 2u);
  EXPECT_EQ(r.steps[3].counters.get("init", "IpReasmOKs"), 1u);
  EXPECT_EQ(r.steps[3].counters.get("init", "Ip6ReasmReqds"), 2u);
  EXPECT_EQ(r.steps[3].counters.get("init", "Ip6ReasmOKs"), 1u);
  ASSERT_EQ(r.end_events.size(), 1u);
  EXPECT_EQ(field(r.end_events[0], "IpReasmOKs"), "1");
}

TEST(KernelEngine, TheDigestIsThePayloads) {
  RUN_OR_SKIP(r, "frag init v4 id=1 off=0 len=3 mf=0 data=hex:616263\n");
  frag::Fnv1a64 h;
  h.update(reinterpret_cast<const uint8_t*>("abc"), 3);
  EXPECT_EQ(field(r.steps[0].events.at(0), "fnv1a64"), trace::format_hex64(h.value()));
}

TEST(KernelEngine, NamespacesAreSeparate) {
  RUN_OR_SKIP(r,
              "netns add a\n"
              "sysctl a ipv4.ipfrag_low_thresh 0\n"
              "sysctl a ipv4.ipfrag_high_thresh 0\n"
              "frag a v4 id=1 off=0 len=8 mf=1\n"
              "frag init v4 id=1 off=8 len=8 mf=0\n"
              "netns del a\n");
  const KernelStep& del = r.steps.back();
  ASSERT_EQ(del.events.size(), 1u);
  EXPECT_EQ(del.events[0].kind, "counters");
  EXPECT_EQ(field(del.events[0], "ns"), "a");
  EXPECT_EQ(field(del.events[0], "IpReasmReqds"), "1");
  EXPECT_EQ(field(del.events[0], "IpReasmFails"), "1");  // high_thresh 0 in a only
  EXPECT_TRUE(del.counters.ns.empty());                  // a is gone, and the op names no other
  EXPECT_EQ(r.steps[4].counters.get("init", "IpReasmReqds"), 1u);
  EXPECT_EQ(r.steps[4].counters.get("init", "IpReasmFails"), 0u);
}

TEST(KernelEngine, RefusedSysctlIsAnEvent) {
  RUN_OR_SKIP(r,
              "sysctl init ipv6.ip6frag_high_thresh 1\n"
              "sysctl init ipv6.ip6frag_time 8589935\n"
              "sysctl init ipv6.ip6frag_time 2\n");
  ASSERT_EQ(r.steps.size(), 3u);
  ASSERT_EQ(r.steps[0].events.size(), 1u);
  EXPECT_EQ(r.steps[0].events[0].kind, "sysctl-refused");
  EXPECT_EQ(field(r.steps[0].events[0], "key"), "ipv6.ip6frag_high_thresh");
  EXPECT_EQ(r.steps[1].events.size(), 1u);
  EXPECT_TRUE(r.steps[2].events.empty());
}

TEST(KernelEngine, OtherAddressesAreAddedToLo) {
  RUN_OR_SKIP(r,
              "frag init v4 id=2 off=0 len=8 mf=0 src=192.0.2.1 dst=198.51.100.7\n"
              "frag init v6 id=2 off=0 len=8 mf=0 src=2001:db8::1 dst=2001:db8::99\n");
  EXPECT_EQ(field(r.steps[0].events.at(0), "dst"), "198.51.100.7");
  EXPECT_EQ(field(r.steps[1].events.at(0), "src"), "2001:db8::1");
  EXPECT_EQ(field(r.steps[1].events.at(0), "dst"), "2001:db8::99");
}

TEST(KernelEngine, CatchesTheIcmpErrorsReassemblySends) {
  // A Parameter Problem as the fragment is handled, Time Exceeded from the
  // queue's timer during the tick; to sources with a route back only
  // because the engine put them on lo.
  RUN_OR_SKIP(r,
              "sysctl init ipv4.ipfrag_time 1\n"
              "frag init v6 id=9 off=8 len=12 mf=1 src=2001:db8::1\n"
              "frag init v4 id=9 off=0 len=8 mf=1 src=192.0.2.1 dst=198.51.100.7\n"
              "tick 2s\n");
  ASSERT_EQ(r.steps.size(), 4u);
  ASSERT_EQ(r.steps[1].events.size(), 1u);
  EXPECT_EQ(trace::to_text(r.steps[1].events[0]),
            "icmp ns=init family=v6 src=2001:db8::1 dst=::1 proto=253 id=9 type=4 code=0 "
            "pointer=4");
  EXPECT_TRUE(r.steps[2].events.empty());
  ASSERT_EQ(r.steps[3].events.size(), 1u);
  EXPECT_EQ(trace::to_text(r.steps[3].events[0]),
            "icmp ns=init family=v4 src=192.0.2.1 dst=198.51.100.7 proto=253 id=9 type=11 code=1");
}

TEST(KernelEngine, LargestFragmentsFitLo) {
  RUN_OR_SKIP(r,
              "frag init v6 id=1 off=0 len=8 mf=1\n"
              "frag init v6 id=1 off=8 len=65527 mf=0\n"
              "frag init v4 id=1 off=0 len=65515 mf=0\n");
  EXPECT_EQ(field(r.steps[1].events.at(0), "len"), "65535");
  EXPECT_EQ(field(r.steps[2].events.at(0), "len"), "65515");
}

TEST(KernelEngine, NothingIsLeftBehind) {
  const size_t fds = open_fds();
  RUN_OR_SKIP(r, "netns add x\nfrag x v4 id=1 off=0 len=8 mf=1\n");
  EXPECT_EQ(open_fds(), fds);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // the child was reaped
  EXPECT_EQ(errno, ECHILD);
}

TEST(KernelEngine, RefusesTooMuchSleepAndProtocolZero) {
  KernelOptions options;
  options.max_sleep_ms = 1500;
  trace::Trace sleepy = parse("tick 1s\ntick 600ms\n");
  auto why = refusal(sleepy, options);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->line, 2u);  // the tick that goes past the bound
  EXPECT_NE(why->message.find("1600ms"), std::string::npos) << why->message;
  KernelResult r = run(sleepy, options);
  EXPECT_EQ(r.status, KernelResult::Status::kRefused);
  EXPECT_EQ(r.exit_status(), 2);
  options.max_sleep_ms = 1600;
  EXPECT_FALSE(refusal(sleepy, options));
  auto zero = refusal(parse("frag init v4 id=1 off=0 len=8 mf=1 proto=0\n"), {});
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->field, "proto");
}

TEST(KernelEngine, RefusesAReassemblyTimeoutOfZero) {
  auto why =
      refusal(parse("sysctl init ipv4.ipfrag_time 1\nsysctl init ipv6.ip6frag_time 0\n"), {});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->line, 2u);
  EXPECT_NE(why->message.find("next jiffy"), std::string::npos) << why->message;
  EXPECT_FALSE(refusal(parse("sysctl init ipv4.ipfrag_high_thresh 0\n"), {}));
}

TEST(KernelEngine, RefusesAddressesTheKernelNeverDelivers) {
  // Each measured on Linux 6.18 (a divergence before they were refused).
  for (const char* refused :
       {"v4 dst=0.0.0.0", "v4 dst=0.1.2.3", "v4 dst=239.1.2.3", "v4 dst=240.0.0.1",
        "v4 dst=255.255.255.254", "v4 src=0.0.0.0", "v4 src=224.0.0.1", "v4 src=255.255.255.255",
        "v6 dst=::", "v6 dst=ff02::1", "v6 src=ff02::1"}) {
    const std::string text =
        std::string("netns add a\nfrag a ") + refused + " id=1 off=0 len=8 mf=0\n";
    auto why = refusal(parse(text), {});
    ASSERT_TRUE(why) << refused;
    EXPECT_EQ(why->line, 2u);
    EXPECT_EQ(why->field, std::string(refused).substr(3, 3)) << refused;
    EXPECT_NE(why->message.find("the kernel never delivers"), std::string::npos) << why->message;
  }
  // Their neighbours, which it delivers.
  for (const char* delivered :
       {"v4 dst=224.0.0.1", "v4 dst=255.255.255.255", "v4 src=0.0.0.1", "v4 src=240.0.0.1",
        "v4 dst=127.255.255.255", "v6 src=::", "v6 dst=::2", "v6 dst=fe80::1"}) {
    const std::string text = std::string("frag init ") + delivered + " id=1 off=0 len=8 mf=0\n";
    EXPECT_FALSE(refusal(parse(text), {})) << delivered;
  }
}

TEST(KernelEngine, V6DeliveriesCarryTheCompletingFragmentsId) {
  // The last fragment (next header 253) completes the datagram whose first
  // fragment says 17: the queue key has no next header, so the id is the
  // last fragment's and the datagram's protocol the first's.
  RUN_OR_SKIP(r,
              "frag init v6 id=4000000000 off=0 len=16 mf=1 proto=17\n"
              "frag init v6 id=4000000000 off=16 len=8 mf=0\n"
              "frag init v6 id=9 off=0 len=8 mf=0 src=2001:db8::1 dst=2001:db8::2\n");
  ASSERT_EQ(r.steps[1].events.size(), 1u);
  EXPECT_EQ(field(r.steps[1].events[0], "id"), "4000000000");
  EXPECT_EQ(field(r.steps[1].events[0], "proto"), "17");
  ASSERT_EQ(r.steps[2].events.size(), 1u);
  EXPECT_EQ(field(r.steps[2].events[0], "id"), "9");
}

TEST(KernelEngine, StepsNameOnlyTheNamespacesTheirOpNames) {
  // The cost of an op does not grow with the namespaces alive: only a
  // tick reads every namespace's counters.
  RUN_OR_SKIP(r,
              "netns add a\n"
              "netns add b\n"
              "frag a v4 id=1 off=0 len=8 mf=1\n"
              "sysctl b ipv4.ipfrag_time 3\n"
              "tick 10ms\n");
  ASSERT_EQ(r.steps.size(), 5u);
  auto names = [](const KernelStep& s) {
    std::string out;
    for (const auto& [ns, values] : s.counters.ns) out += ns + " ";
    return out;
  };
  EXPECT_EQ(names(r.steps[0]), "a ");
  EXPECT_EQ(names(r.steps[2]), "a ");
  EXPECT_EQ(names(r.steps[3]), "b ");
  EXPECT_EQ(names(r.steps[4]), "a b init ");
  EXPECT_EQ(r.steps[2].counters.get("a", "IpReasmReqds"), 1u);
  std::vector<size_t> seen;
  KernelOptions options;
  options.on_step = [&seen](const KernelStep& s) { seen.push_back(s.op_index); };
  KernelResult again = run(parse("netns add a\ntick 1ms\n"), options);
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1}));
}

TEST(KernelEngine, ExitStatuses) {
  KernelResult r;
  EXPECT_EQ(r.exit_status(), 0);
  r.status = KernelResult::Status::kUnavailable;
  EXPECT_EQ(r.exit_status(), 77);
  r.status = KernelResult::Status::kFailed;
  EXPECT_EQ(r.exit_status(), 1);
  r.status = KernelResult::Status::kInterrupted;
  r.signal = 2;
  EXPECT_EQ(r.exit_status(), 130);
}

}  // namespace
}  // namespace nv::kernel
