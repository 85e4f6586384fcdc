// netverify z3-prove and z3-cases, run as a user runs them (the full runs
// are the ctests z3.prove.* and z3.cases.current).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_test_util.h"

namespace nv {
namespace {

using cli_test::Result;

Result run(const std::string& args) {
  return cli_test::netverify(args);
}

TEST(CliZ3, ProveOne) {
  Result r = run("z3-prove v4-datagram-fits");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("PROVED v4-datagram-fits (v4; queues of 0 to 3 runs): a v4 datagram", 0),
            0u)
      << r.out;
}

TEST(CliZ3, ProveUnknown) {
  Result r = run("z3-prove no-such-proof");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown proof 'no-such-proof'; known: v4-datagram-fits"), std::string::npos)
      << r.out;
}

TEST(CliZ3, CasesNeedsAnOutputDirectoryItMayReplace) {
  Result r = run("z3-cases");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("-o DIR is required"), std::string::npos) << r.out;
  const std::filesystem::path dir = testing::TempDir() + "z3-cases-not-ours";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.trace") << "netverify-trace 1\n";
  r = run("z3-cases -o " + dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("not empty and not an earlier z3-cases output (no cases.txt)"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "mine.trace"));
}

}  // namespace
}  // namespace nv
