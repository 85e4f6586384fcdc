#include "kernel/step_codec.h"

#include <gtest/gtest.h>

namespace nv::kernel {
namespace {

KernelStep sample_step() {
  KernelStep s;
  s.op_index = 12;
  s.line = 40;
  trace::Event d{"deliver", {}};
  d.add("ns", std::string("a b:c")).add("len", uint64_t{65535}).add("empty", std::string());
  s.events.push_back(d);
  s.events.push_back(trace::Event{"sysctl-refused", {}});
  s.counters.ns["init"]["IpReasmReqds"] = 3;
  s.counters.ns["other"]["Ip6ReasmOKs"] = UINT64_MAX;
  return s;
}

TEST(StepCodec, RoundTrip) {
  KernelStep s = sample_step();
  trace::Event end{"counters", {}};
  end.add("ns", std::string("init"));
  std::string stream = encode_step(s) + encode_step(s) + encode_end({end});
  KernelResult r;
  ASSERT_TRUE(decode_stream(stream, &r));
  EXPECT_EQ(r.status, KernelResult::Status::kOk);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0], s);
  ASSERT_EQ(r.end_events.size(), 1u);
  EXPECT_EQ(r.end_events[0], end);
}

TEST(StepCodec, Failures) {
  KernelResult r;
  ASSERT_TRUE(decode_stream(
      encode_step(sample_step()) + encode_fail(KernelResult::Status::kUnavailable, "EPERM"), &r));
  EXPECT_EQ(r.status, KernelResult::Status::kUnavailable);
  EXPECT_EQ(r.message, "EPERM");
  EXPECT_EQ(r.steps.size(), 1u);
  KernelResult f;
  ASSERT_TRUE(decode_stream(encode_fail(KernelResult::Status::kFailed, "boom"), &f));
  EXPECT_EQ(f.status, KernelResult::Status::kFailed);
}

TEST(StepCodec, TruncatedOrMalformedStreamsAreRejected) {
  const std::string stream = encode_step(sample_step());
  for (size_t n = 1; n < stream.size(); ++n) {
    KernelResult r;
    EXPECT_FALSE(decode_stream(stream.substr(0, n), &r)) << n;
  }
  KernelResult r;
  EXPECT_FALSE(decode_stream("4:what", &r));
  EXPECT_FALSE(decode_stream("99999999999:x", &r));
  EXPECT_TRUE(decode_stream("", &r));
}

}  // namespace
}  // namespace nv::kernel
