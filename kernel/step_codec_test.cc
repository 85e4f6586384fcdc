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
  ASSERT_EQ(decode_records(stream, &r), stream.size());
  EXPECT_EQ(r.status, KernelResult::Status::kOk);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0], s);
  ASSERT_EQ(r.end_events.size(), 1u);
  EXPECT_EQ(r.end_events[0], end);
}

TEST(StepCodec, Failures) {
  KernelResult r;
  const std::string stream =
      encode_step(sample_step()) + encode_fail(KernelResult::Status::kUnavailable, "EPERM");
  ASSERT_EQ(decode_records(stream, &r), stream.size());
  EXPECT_EQ(r.status, KernelResult::Status::kUnavailable);
  EXPECT_EQ(r.message, "EPERM");
  EXPECT_EQ(r.steps.size(), 1u);
  KernelResult f;
  const std::string fail = encode_fail(KernelResult::Status::kFailed, "boom");
  ASSERT_EQ(decode_records(fail, &f), fail.size());
  EXPECT_EQ(f.status, KernelResult::Status::kFailed);
}

TEST(StepCodec, TruncatedOrMalformedRecordsAreLeft) {
  const std::string step = encode_step(sample_step());
  for (size_t n = 1; n < step.size(); ++n) {
    KernelResult r;
    EXPECT_EQ(decode_records(step.substr(0, n), &r), 0u) << n;
    EXPECT_TRUE(r.steps.empty()) << n;
  }
  KernelResult r;
  EXPECT_EQ(decode_records("4:what", &r), 0u);
  EXPECT_EQ(decode_records("99999999999:x", &r), 0u);
  EXPECT_EQ(decode_records("", &r), 0u);
}

TEST(StepCodec, AStreamDecodesAsItArrives) {
  // The parent reads the pipe in pieces: each complete record is decoded as
  // soon as its last byte is there, a partial one waits.
  const std::string step = encode_step(sample_step());
  const std::string stream = step + step + encode_end({});
  KernelResult r;
  std::string pending;
  std::vector<size_t> seen;  // steps decoded after each byte
  for (char c : stream) {
    pending += c;
    pending.erase(0, decode_records(pending, &r));
    seen.push_back(r.steps.size());
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(seen[step.size() - 2], 0u);
  EXPECT_EQ(seen[step.size() - 1], 1u);
  EXPECT_EQ(seen[2 * step.size() - 1], 2u);
  EXPECT_EQ(r.steps.size(), 2u);
}

}  // namespace
}  // namespace nv::kernel
