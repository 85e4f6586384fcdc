// The command-line contract every netverify command keeps, run as a user
// runs it: inputs that are not what they seem are refused with exit 2 and a
// short escaped excerpt; what a command writes is written atomically or the
// failure is reported (exit 3); one exit-status table (cli/exit_status.h)
// for every command; help, usage lines, --version, `list` and `--`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "cli/exit_status.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using cli_test::corpus;
using cli_test::Result;

const std::string kNv = NV_NETVERIFY;

// stdout and stderr together.
Result run(const std::string& args) {
  return cli_test::netverify(args);
}

// With standard output on a full device; `out` is stderr.
Result run_full(const std::string& args) {
  return cli_test::sh(kNv + " " + args + " 2>&1 >/dev/full", /*stdout_only=*/true);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// A fresh directory of this test's own.
std::string fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(::testing::TempDir()) /
                       ("nv-cli-" + std::string(info->test_suite_name()) + "-" + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// Every command `netverify --help` lists, in order.
std::vector<std::string> listed_commands() {
  Result r = run("--help");
  std::vector<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line == "commands:") {
      in_list = true;
    } else if (in_list) {
      if (line.empty()) break;
      std::istringstream words(line);
      std::string name;
      words >> name;
      out.push_back(name);
    }
  }
  return out;
}

// The flags of a command's usage line, each with its placeholder ("" for a
// switch): "[--seed N]" gives {"--seed", "N"}.
std::vector<std::pair<std::string, std::string>> usage_flags(const std::string& command) {
  Result r = run(command + " --help");
  const std::string usage = r.out.substr(0, r.out.find('\n'));
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream words(usage);
  std::string w;
  std::vector<std::string> all;
  while (words >> w) all.push_back(w);
  for (size_t i = 0; i < all.size(); ++i) {
    std::string name = all[i];
    name.erase(0, name.find_first_not_of('['));
    if (!name.starts_with("-")) continue;
    std::string value;  // "-o FILE", "[--seed N]", "[--inject MUTANT]...": a second word
    if (!all[i].ends_with("]") && !all[i].ends_with("]...") && i + 1 < all.size() &&
        !all[i + 1].starts_with("["))
      value = all[++i];
    while (!value.empty() && (value.back() == ']' || value.back() == '.')) value.pop_back();
    while (!name.empty() && (name.back() == ']' || name.back() == '.')) name.pop_back();
    out.emplace_back(name, value);
  }
  return out;
}

// Inputs shared by the tests below.
class CliContract : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    good_ = corpus("basic/v4-in-order.trace");
    three_ops_ = dir_ + "/three.trace";
    write_file(three_ops_, "netverify-trace 1\ntick 5ms\n# a comment\ntick 5ms\ntick 5ms\n");
    invalid_ = dir_ + "/invalid.trace";
    write_file(invalid_, "netverify-trace 1\nfrag init v4 id=1 off=3 len=8 mf=1\n");
  }

  std::string dir_, good_, three_ops_, invalid_;
};

// ---------------------------------------------------------------------------
// 1. Inputs that are not what they seem.

// Each command that reads a file, with FILE where the file goes.
const std::vector<std::string> kReaders = {
    "replay FILE",
    "replay FILE --engine kernel",
    "replay FILE --engine all",
    "decode FILE",
    "encode FILE",
    "minimize FILE --inject frag-no-trim",
    "kernel FILE",
    "pcap-import FILE",
    "pcap-export FILE -o OUT",
};

std::string with(std::string pattern, const std::string& file, const std::string& out = "") {
  pattern.replace(pattern.find("FILE"), 4, file);
  if (size_t o = pattern.find("OUT"); o != std::string::npos) pattern.replace(o, 3, out);
  return pattern;
}

TEST_F(CliContract, EveryReaderRefusesWhatIsNoFile) {
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {dir_, dir_ + ": is a directory, not a file"},
      {dir_ + "/missing.trace", dir_ + "/missing.trace: No such file or directory"},
      {good_ + "/x", good_ + "/x: Not a directory"},
      {"/dev/zero", "/dev/zero: is a character device, not a file"},
      {"/dev/urandom", "/dev/urandom: is a character device, not a file"},
  };
  for (const std::string& reader : kReaders) {
    for (const auto& [input, message] : inputs) {
      Result r = run(with(reader, input, dir_ + "/out.pcap"));
      EXPECT_EQ(r.status, cli::kExitUsage) << reader << " " << input << "\n" << r.out;
      EXPECT_NE(r.out.find(message), std::string::npos) << reader << "\n" << r.out;
      EXPECT_LT(r.out.size(), 400u) << reader << "\n" << r.out;
    }
  }
  for (const char* lister : {"check", "kernel-check"}) {
    Result r = run(std::string(lister) + " " + good_);
    EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
    EXPECT_NE(r.out.find(good_ + ": not a directory"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/out.pcap"));
}

TEST_F(CliContract, AnInputThatNeverEndsIsCutOff) {
  Result r = cli_test::sh("cat /dev/zero | " + kNv + " replay /dev/stdin");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_EQ(r.out, "/dev/stdin:1:1048577: line longer than 1048576 bytes (--max-line)\n");
  r = cli_test::sh("cat /dev/zero | " + kNv + " decode /dev/stdin --max-bytes 1M");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_EQ(r.out,
            "netverify decode: /dev/stdin:1:1048577: input longer than 1048576 bytes "
            "(--max-bytes)\n");
  r = cli_test::sh("cat /dev/zero | " + kNv + " pcap-import /dev/stdin --max-bytes 64K");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_NE(r.out.find("input longer than 65536 bytes (--max-bytes)"), std::string::npos) << r.out;
  // A pipe within the limits is an input like any other.
  r = cli_test::sh("cat " + good_ + " | " + kNv + " replay /dev/stdin");
  EXPECT_EQ(r.status, cli::kExitOk) << r.out;
}

// Every command that reads traces has the three limits, and refuses beyond
// them at the position where the limit was passed.
TEST_F(CliContract, EveryTraceReaderEnforcesTheLimits) {
  const std::string d = dir_ + "/limits";
  fs::create_directories(d);
  fs::copy_file(three_ops_, d + "/three.trace");
  const std::string in_dir = d + "/three.trace";
  struct Limit {
    std::string flag;
    std::string message;
  };
  const std::vector<Limit> limits = {
      {"--max-ops 2", ":5:1: more than 2 operations (--max-ops)"},
      {"--max-line 7", ":1:8: line longer than 7 bytes (--max-line)"},
      {"--max-bytes 20", ":2:3: input longer than 20 bytes (--max-bytes)"},
  };
  for (const std::string reader :
       {"replay FILE", "replay FILE --engine kernel", "replay FILE --engine all", "encode FILE",
        "minimize FILE", "kernel FILE", "pcap-export FILE -o OUT"}) {
    for (const Limit& l : limits) {
      Result r = run(with(reader, three_ops_, dir_ + "/x.pcap") + " " + l.flag);
      EXPECT_EQ(r.status, cli::kExitUsage) << reader << " " << l.flag << "\n" << r.out;
      EXPECT_EQ(r.out, three_ops_ + l.message + "\n") << reader;
    }
    // Raised, they let the trace through (minimize: it does not fail).
    Result r = run(with(reader, three_ops_, dir_ + "/x.pcap") + " --max-ops 3 --max-line 17" +
                   " --max-bytes " + std::to_string(fs::file_size(three_ops_)));
    EXPECT_NE(r.status, cli::kExitUsage) << reader << "\n" << r.out;
  }
  for (const char* lister : {"check", "kernel-check"}) {
    for (const Limit& l : limits) {
      Result r = run(std::string(lister) + " " + d + " " + l.flag);
      EXPECT_EQ(r.status, cli::kExitUsage) << lister << " " << l.flag << "\n" << r.out;
      EXPECT_NE(r.out.find(in_dir + l.message + "\n"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("INVALID"), std::string::npos) << r.out;
    }
  }
}

TEST_F(CliContract, DefaultLimitsRefuseAHugeLineAndRaisingThemAdmitsIt) {
  const std::string path = dir_ + "/huge.trace";
  write_file(path, "tick 1s\n" + std::string(2 << 20, 'x') + "\n");
  Result r = run("replay " + path);
  EXPECT_EQ(r.status, cli::kExitUsage);
  EXPECT_EQ(r.out, path + ":2:1048577: line longer than 1048576 bytes (--max-line)\n");
  // Admitted, the line is an unknown operation: quoted as a short excerpt.
  r = run("replay " + path + " --max-line 4M");
  EXPECT_EQ(r.status, cli::kExitUsage);
  EXPECT_EQ(r.out, path + ":2:1: unknown operation '" + std::string(40, 'x') + "...'\n");
}

TEST_F(CliContract, MessagesQuoteShortEscapedExcerpts) {
  struct Case {
    std::string text;
    std::string message;  // after "FILE:"
  };
  const std::vector<Case> cases = {
      {"\xEF\xBB\xBFnetverify-trace 1\ntick 1s\n",
       "1:1: byte-order mark '\\xEF\\xBB\\xBF' (a trace is UTF-8 text without one)"},
      {"tick 1s\ntick\0 1s\n"s,
       "2:5: NUL byte '\\0' (a trace is text; for a fuzz input, netverify decode FILE prints "
       "its trace)"},
      {"tick 1s\n\x01\x7f\xff op\n", "2:1: unknown operation '\\x01\\x7F\\xFF'"},
      {"frag init v4 id=1 off=0 len=8 mf=1 k\\\xc3\xa9=1\n",
       "1:36: unknown key 'k\\\\\\xC3\\xA9' for 'frag'"},
      {"frag init v9 id=1 off=0 len=8 mf=1\n", "1:11: unknown FAMILY 'v9' (expected v4|v6)"},
      {"netns add " + std::string(100000, 'n') + "\n",
       "1:11: bad namespace name '" + std::string(40, 'n') + "...'"},
      {"frag init v4 id=1 off=0 len=8 mf=1 " + std::string(200000, 'k') + "=1\n",
       "1:36: unknown key '" + std::string(40, 'k') + "...' for 'frag'"},
      {"frag init v4 id=1 off=0 len=8 mf=1 mf=1\n", "1:36: duplicate key 'mf'"},
      {"tick 1s " + std::string(50000, '\x02') + "\n", "1:9: unexpected '" +
                                                           [] {
                                                             std::string s;
                                                             for (int i = 0; i < 40; ++i)
                                                               s += "\\x02";
                                                             return s;
                                                           }() +
                                                           "...' (expected key=value)"},
  };
  for (const Case& c : cases) {
    const std::string path = dir_ + "/excerpt.trace";
    write_file(path, c.text);
    Result r = run("replay " + path);
    EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
    EXPECT_EQ(r.out, path + ":" + c.message + "\n");
  }
}

// The excerpt the parser's messages quote (trace/parser.h).
TEST(ParserExcerpt, EscapesInvisibleBytesAndTruncates) {
  EXPECT_EQ(trace::excerpt("frag"), "frag");
  EXPECT_EQ(trace::excerpt("a\0b\t\r\n\\"s), "a\\0b\\t\\r\\n\\\\");
  EXPECT_EQ(trace::excerpt("\xEF\xBB\xBFx\x7f"), "\\xEF\\xBB\\xBFx\\x7F");
  EXPECT_EQ(trace::excerpt(std::string(41, 'a')), std::string(40, 'a') + "...");
  EXPECT_EQ(trace::excerpt(std::string(40, 'a')), std::string(40, 'a'));
  EXPECT_EQ(trace::excerpt("abcdef", 3), "abc...");
  EXPECT_EQ(trace::excerpt(""), "");
  // Whatever the bytes, the excerpt is printable ASCII of bounded size.
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (const std::string& e : {trace::excerpt(all), trace::excerpt(all, 256)}) {
    EXPECT_LE(e.size(), 256u * 4 + 3);
    for (char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
  }
  trace::ParseResult r =
      trace::parse("tick 1s\n" + std::string(1 << 20, '\xff') + "\n", runner::registry());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(
      r.error->message, "unknown operation '" + [] {
        std::string s;
        for (int i = 0; i < 40; ++i) s += "\\xFF";
        return s;
      }() + "...'");
}

// Each value flag of each command: a bad value is refused before anything
// runs, with the same message whichever command it is given to.
TEST_F(CliContract, EveryFlagValueIsCheckedTheSameEverywhere) {
  std::map<std::string, std::string> message_of;  // flag -> message, first seen
  size_t checked = 0;
  for (const std::string& command : listed_commands()) {
    for (const auto& [flag, value] : usage_flags(command)) {
      // Switches take no value; output paths are checked when opened.
      if (value.empty() || flag == "-o" || flag == "--capture") continue;
      // Invalid for every type of value: number, size, duration, choice,
      // name, mutant, subsystem, path.
      for (const std::string bad : {"abc!", "-1/", "?"}) {
        Result r = run(command + " " + flag + " '" + bad + "'");
        EXPECT_EQ(r.status, cli::kExitUsage) << command << " " << flag << " " << bad << r.out;
        const std::string prefix = "netverify " + command + ": ";
        ASSERT_TRUE(r.out.starts_with(prefix)) << r.out;
        const std::string message = r.out.substr(prefix.size());
        EXPECT_NE(message.find(bad), std::string::npos) << message;
        auto [it, first] = message_of.emplace(flag + " " + bad, message);
        if (!first) {
          EXPECT_EQ(it->second, message) << command << " " << flag;
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 60u);
  // The example of the tracker: refused by replay as by kernel.
  EXPECT_EQ(message_of["--max-sleep abc!"],
            "bad --max-sleep 'abc!' (expected seconds, or 500ms, 30s, 2m)\n");
  EXPECT_EQ(run("replay " + good_ + " --max-sleep abc").status, cli::kExitUsage);
  EXPECT_EQ(message_of["--max-ops -1/"], "bad --max-ops '-1/' (expected a number 1 or more)\n");
  EXPECT_EQ(message_of["--max-bytes ?"],
            "bad --max-bytes '?' (expected a number of bytes 1 or more, or with K, M, G: 64K, "
            "256M, 1G)\n");
  EXPECT_EQ(message_of["--size abc!"], "bad --size 'abc!' (expected a number 0..1000)\n");
  EXPECT_EQ(message_of["--engine abc!"],
            "bad --engine 'abc!' (expected model, impl, both, kernel or all)\n");
  EXPECT_EQ(message_of["--ns ?"],
            "bad --ns '?' (expected a namespace name: 1 to 32 of a-z A-Z 0-9 _ - .)\n");
  EXPECT_EQ(message_of["--dict ?"], "--dict ?: No such file or directory\n");
  EXPECT_EQ(run("mutants --dict /dev/zero").out,
            "netverify mutants: --dict /dev/zero: is a device, not a file or directory\n");
  EXPECT_TRUE(run("frobnicate" + std::string(100, 'x'))
                  .out.starts_with("netverify: unknown command 'frobnicate" + std::string(30, 'x') +
                                   "...'\n"));
  std::string known;
  for (size_t i = 0; i < runner::subsystems().size(); ++i)
    known += (i == 0                                 ? ""
              : i + 1 == runner::subsystems().size() ? " or "
                                                     : ", ") +
             runner::subsystems()[i].name;
  EXPECT_EQ(message_of["--subsystem abc!"],
            "unknown subsystem 'abc!' for --subsystem (known: " + known + ")\n");
  EXPECT_EQ(run("gen --size 1001").status, cli::kExitUsage);
  EXPECT_EQ(run("gen --seed -1").out, "netverify gen: bad --seed '-1' (expected a number)\n");
  EXPECT_EQ(run("gen --size 1000 --ops 1").status, cli::kExitOk);
  EXPECT_EQ(run("gen --seed 1 --seed 2").out, "netverify gen: option '--seed' given twice\n");
  EXPECT_EQ(run("mutants --cases 0").out,
            "netverify mutants: bad --cases '0' (expected a number 1..2147483647)\n");
}

TEST_F(CliContract, AnUnknownMutantListsTheKnownOnes) {
  std::string expected = "unknown mutant 'nosuch'; known mutants:";
  for (const runner::Subsystem& s : runner::subsystems())
    for (const runner::MutantInfo& m : s.mutants) expected += "\n  " + m.name + "  " + m.help;
  for (const std::string& command :
       {"replay " + good_, "replay " + good_ + " --engine all", "minimize " + good_}) {
    Result r = run(command + " --inject nosuch");
    EXPECT_EQ(r.status, cli::kExitUsage) << command;
    EXPECT_EQ(r.out, "netverify " + command.substr(0, command.find(' ')) + ": " + expected + "\n");
  }
  // A corpus trace declaring an unknown mutant is invalid input too.
  const std::string d = dir_ + "/declares";
  fs::create_directories(d);
  write_file(d + "/t.trace", "# mutant: nosuch\ntick 1s\n");
  Result r = run("check " + d);
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_NE(r.out.find(d + "/t.trace: " + expected), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("UNKNOWN MUTANT"), std::string::npos) << r.out;
}

TEST_F(CliContract, DoubleDashEndsOptions) {
  write_file(dir_ + "/-dash.trace", read_file(good_));
  Result r = cli_test::sh("cd " + dir_ + " && " + kNv + " replay -- -dash.trace 2>&1");
  EXPECT_EQ(r.status, cli::kExitOk) << r.out;
  r = cli_test::sh("cd " + dir_ + " && " + kNv + " replay -dash.trace 2>&1");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_TRUE(r.out.starts_with("netverify replay: unknown option '-dash.trace'")) << r.out;
  // After --, --help is an operand too.
  r = run("replay -- --help");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_EQ(r.out, "--help: No such file or directory\n");
  r = run("replay " + good_ + " -- --json");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;  // two operands
}

// ---------------------------------------------------------------------------
// 2. Output that must not be lost.

TEST_F(CliContract, MinimizeChecksItsOutputBeforeItStarts) {
  Result r = run("minimize " + corpus("regressions/no-trim.trace") +
                 " --inject frag-no-trim -o /nonexistent/dir/x.trace");
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_EQ(r.out,
            "netverify minimize: -o /nonexistent/dir/x.trace: /nonexistent/dir: No such file or "
            "directory\n");  // and no "minimize:" progress: it did not start
  r = run("minimize " + corpus("regressions/no-trim.trace") + " --inject frag-no-trim -o " + dir_);
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_NE(r.out.find("is a directory"), std::string::npos) << r.out;
}

TEST_F(CliContract, MinimizePrintsItsResultToStderrWhenWritingFails) {
  const std::string args =
      "minimize " + corpus("regressions/no-trim.trace") + " --inject frag-no-trim";
  const std::string expected = read_file(corpus("regressions/no-trim.trace"));
  for (Result r : {run(args + " -o /dev/full"), run_full(args)}) {
    EXPECT_EQ(r.status, cli::kExitEnvironment) << r.out;
    EXPECT_NE(r.out.find("the minimized trace follows, so that it is not lost:\n"
                         "# minimized by netverify: divergence:frag:deliver/kill.overlap\n"
                         "netverify-trace 1\n"
                         "frag init v4 id=1 off=0 len=9 mf=1\n"),
              std::string::npos)
        << r.out;
  }
}

TEST_F(CliContract, FilesAreReplacedAtomically) {
  const std::string min = corpus("regressions/no-trim.trace");
  struct Writer {
    std::string ok, fails;      // OUT where the output goes
    std::string verify, shows;  // a command reading OUT, and what it prints
  };
  const std::vector<Writer> writers = {
      {"encode " + good_ + " -o OUT", "encode " + invalid_ + " -o OUT", "decode OUT",
       "frag init v4 id=1 off=32 len=8 mf=0\n"},
      {"minimize " + min + " --inject frag-no-trim -o OUT", "minimize " + good_ + " -o OUT",
       "replay OUT --inject frag-no-trim", "DIVERGENCE at line 4"},
      {"pcap-export " + good_ + " -o OUT", "pcap-export " + invalid_ + " -o OUT", "pcap-import OUT",
       "3 frames, 3 fragments"},
      {"kernel " + good_ + " --capture OUT", "kernel " + invalid_ + " --capture OUT",
       "pcap-import OUT", "3 frames, 3 fragments"},
  };
  for (const Writer& w : writers) {
    const std::string d = dir_ + "/atomic";
    fs::remove_all(d);
    fs::create_directories(d);
    const std::string out = d + "/out";
    auto at = [&](std::string s) { return s.replace(s.find("OUT"), 3, out); };
    write_file(out, "old");
    // A command that fails leaves the old file, and nothing else.
    Result r = run(at(w.fails));
    EXPECT_NE(r.status, cli::kExitOk) << w.fails;
    EXPECT_EQ(read_file(out), "old") << w.fails;
    EXPECT_EQ(entries(d), std::set<std::string>{"out"}) << w.fails;
    r = run(at(w.ok));
    if (r.status == cli::kExitSkipped) continue;  // kernel: unprivileged
    EXPECT_EQ(r.status, cli::kExitOk) << w.ok << "\n" << r.out;
    Result v = run(at(w.verify));
    EXPECT_NE(v.out.find(w.shows), std::string::npos) << w.ok << "\n" << v.out;
    EXPECT_EQ(entries(d), std::set<std::string>{"out"}) << w.ok;
    struct stat st;
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    const mode_t mask = umask(0);
    umask(mask);
    EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask) << w.ok;
  }
}

TEST_F(CliContract, WriteErrorsAreEnvironmentFailures) {
  const std::vector<std::pair<Result, std::string>> cases = {
      {run("encode " + good_ + " -o /dev/full"),
       "netverify encode: writing /dev/full: No space left on device\n"},
      {run("pcap-export " + good_ + " -o /dev/full"),
       "netverify pcap-export: /dev/full: writing the capture failed\n"},
      {run_full("pcap-export " + good_ + " -o -"),
       "netverify pcap-export: -: writing the capture failed\n"},
      {run_full("encode " + good_), "netverify encode: writing standard output: No space left"},
      {run_full("pcap-import " + dir_ + "/../nonexistent " + good_), "usage: netverify"},
  };
  for (const auto& [r, message] : cases) {
    EXPECT_EQ(r.status, message.starts_with("usage") ? cli::kExitUsage : cli::kExitEnvironment)
        << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << r.out;
  }
  Result r = run_full("gen");
  EXPECT_EQ(r.status, cli::kExitEnvironment);
  EXPECT_EQ(r.out, "netverify gen: writing standard output: No space left on device\n");
  // A finding whose report was lost is no finding delivered: 3 outranks 1.
  r = run_full("replay " + corpus("regressions/no-trim.trace") + " --inject frag-no-trim --json");
  EXPECT_EQ(r.status, cli::kExitEnvironment) << r.out;
  // Standard output closed altogether.
  r = cli_test::sh(kNv + " list 2>&1 >&-", /*stdout_only=*/true);
  EXPECT_EQ(r.status, cli::kExitEnvironment) << r.out;
}

// ---------------------------------------------------------------------------
// Memory: replay parses as it runs, so its resident memory follows the live
// state, not the trace's length (it held 24 times the file: 1.19 GB for
// 50 MB). Sanitizers keep freed memory in quarantine: unsanitized builds only.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_F(CliContract, ReplayMemoryFollowsTheLiveStateNotTheTraceLength) {
  const std::string path = dir_ + "/long.trace";
  {
    std::ofstream out(path);
    out << "netverify-trace 1\n";
    for (uint64_t bytes = 0, id = 0; bytes < 50'000'000; ++id) {
      for (int off = 0; off < 64; off += 16) {
        const std::string line = "frag init v4 id=" + std::to_string(id % 65536) +
                                 " off=" + std::to_string(off) +
                                 " len=16 mf=" + (off < 48 ? "1" : "0") + "\n";
        out << line;
        bytes += line.size();
      }
    }
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(kNv.c_str(), kNv.c_str(), "replay", path.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(usage.ru_maxrss, 100 * 1024) << "peak resident KiB replaying a 50 MB trace";
  fs::remove(path);
}
#endif

// ---------------------------------------------------------------------------
// 3. One exit-status table for every command.

struct Row {
  std::string command;
  // Arguments giving each status, empty where none can (commented). IN,
  // DIR, OKDIR, BADDIR, FAILDIR, PCAP, FARPCAP, BIN, OUT stand for the
  // fixtures. `environment` runs with stdout on /dev/full unless it names
  // /dev/full itself.
  std::string ok, usage, finding, environment;
};

class CliExitStatus : public CliContract {
 protected:
  void SetUp() override {
    CliContract::SetUp();
    for (const char* d : {"ok", "bad", "fail"}) fs::create_directories(dir_ + "/" + d);
    fs::copy_file(good_, dir_ + "/ok/good.trace");
    fs::copy_file(invalid_, dir_ + "/bad/invalid.trace");
    // Model and impl agree with each other and are both wrong about it.
    write_file(dir_ + "/fail/expect.trace",
               "frag init v4 id=1 off=0 len=8 mf=1\nexpect deliver init v4 id=1\n");
    write_file(dir_ + "/fuzz.bin", std::string("\x04\x01\x02\x03\x00\x10\x00\x08\x01", 9));
    ASSERT_EQ(run("pcap-export " + good_ + " -o " + dir_ + "/good.pcap").status, 0);
    // Two ticks of 2^40 ms: a capture whose clock jumps further than one
    // tick can hold.
    write_file(dir_ + "/far.trace",
               "frag init v4 id=1 off=0 len=8 mf=1\ntick 1099511627s\ntick 1099511627s\n"
               "frag init v4 id=1 off=8 len=8 mf=0\n");
    ASSERT_EQ(run("pcap-export " + dir_ + "/far.trace -o " + dir_ + "/far.pcap").status, 0);
  }

  std::string fill(std::string args) const {
    const std::vector<std::pair<std::string, std::string>> subst = {
        {"FAILDIR", dir_ + "/fail"},
        {"BADDIR", dir_ + "/bad"},
        {"OKDIR", dir_ + "/ok"},
        {"FARPCAP", dir_ + "/far.pcap"},
        {"PCAP", dir_ + "/good.pcap"},
        {"BIN", dir_ + "/fuzz.bin"},
        {"OUT", dir_ + "/out"},
        {"IN", good_},
        {"DIR", dir_},
    };
    for (const auto& [from, to] : subst)
      for (size_t at = 0; (at = args.find(from, at)) != std::string::npos; at += to.size())
        args.replace(at, from.size(), to);
    return args;
  }
};

TEST_F(CliExitStatus, EveryCommandKeepsTheTable) {
  const std::string no_trim = corpus("regressions/no-trim.trace");
  const std::vector<Row> rows = {
      {"replay", "replay IN", "replay DIR", "replay " + no_trim + " --inject frag-no-trim",
       "replay IN"},
      {"check", "check OKDIR", "check BADDIR", "check FAILDIR", "check OKDIR"},
      {"gen", "gen --seed 3", "gen --size 2000", "", "gen"},
      {"decode", "decode BIN", "decode DIR", "", "decode BIN"},
      {"encode", "encode IN -o OUT", "encode DIR", "", "encode IN -o /dev/full"},
      {"minimize", "minimize " + no_trim + " --inject frag-no-trim -o OUT",
       "minimize IN -o /nonexistent/x", "minimize IN",
       "minimize " + no_trim + " --inject frag-no-trim"},
      // One mutant each (the whole report is the MutantDetected tests' work):
      // frag-no-trim is caught at once, netns-register-race not in one case.
      {"mutants", "mutants --cases 100 --mutant frag-no-trim", "mutants --cases 0",
       "mutants --cases 1 --mutant netns-register-race",
       "mutants --cases 100 --mutant frag-no-trim"},
      // The kernel does not deliver what the trace expects it to.
      {"kernel", "kernel IN", "kernel DIR", "kernel FAILDIR/expect.trace", "kernel IN"},
      {"kernel-check", "kernel-check OKDIR", "kernel-check BADDIR", "kernel-check FAILDIR",
       "kernel-check OKDIR"},
      // A mutant in the impl makes model and impl diverge in one of seed 1's
      // first five traces (--traces: the same however slow the build);
      // -o a directory that cannot be created.
      {"kernel-fuzz", "kernel-fuzz --seconds 60 --traces 2 --seed 1 --jobs 1 -o DIR/kf",
       "kernel-fuzz --seconds 1 -o /dev/null/x",
       "kernel-fuzz --seconds 60 --traces 5 --seed 1 --jobs 1 --minimize-runs 1 -o DIR/kf "
       "--inject frag-coalesce-head-truesize",
       "kernel-fuzz --seconds 60 --traces 2 --seed 1 --jobs 1 -o DIR/kf"},
      {"pcap-import", "pcap-import PCAP", "pcap-import FARPCAP", "", "pcap-import PCAP"},
      {"pcap-export", "pcap-export IN -o OUT", "pcap-export IN", "", "pcap-export IN -o /dev/full"},
      // z3-cases: its full run (about 30 s) is the ctest z3.cases.current.
      {"z3-cases", "", "z3-cases", "", ""},
      // z3-prove: every proof holds, so no run gives 1.
      {"z3-prove", "z3-prove v4-datagram-fits", "z3-prove nosuch", "", "z3-prove v4-datagram-fits"},
      {"list", "list", "list extra", "", "list"},
  };
  // The table covers every command `netverify --help` lists.
  std::vector<std::string> covered;
  for (const Row& row : rows) covered.push_back(row.command);
  EXPECT_EQ(listed_commands(), covered);

  const bool kernel_runs = run("kernel " + good_).status != cli::kExitSkipped;
  for (const Row& row : rows) {
    const bool kernel = row.command.starts_with("kernel");
    auto check = [&](const std::string& args, int want, bool full) {
      if (args.empty()) return;
      // Unprivileged, the kernel engine does not run (kernel-check finds a
      // model/impl failure and bad input before it would; `kernel` and
      // `kernel-fuzz` only find what a kernel run shows).
      if (kernel && !kernel_runs &&
          (want == cli::kExitOk || want == cli::kExitEnvironment ||
           (want == cli::kExitFinding && row.command != "kernel-check")))
        want = cli::kExitSkipped;
      // An environment failure is a write to /dev/full: -o or stdout.
      const bool stdout_full = full && args.find("/dev/full") == std::string::npos;
      Result r = stdout_full ? run_full(fill(args)) : run(fill(args));
      EXPECT_EQ(r.status, want) << row.command << ": " << fill(args) << "\n" << r.out;
    };
    check(row.ok, cli::kExitOk, false);
    check(row.usage, cli::kExitUsage, false);
    check(row.finding, cli::kExitFinding, false);
    check(row.environment, cli::kExitEnvironment, true);
  }
  // The command line itself.
  EXPECT_EQ(run("--version").status, cli::kExitOk);
  EXPECT_EQ(run("").status, cli::kExitUsage);
  EXPECT_EQ(run("frobnicate").status, cli::kExitUsage);
  EXPECT_EQ(run("replay IN --frobnicate").status, cli::kExitUsage);
  EXPECT_EQ(run_full("--version").status, cli::kExitEnvironment);
  EXPECT_EQ(run_full("--help").status, cli::kExitEnvironment);
  EXPECT_EQ(run_full("replay --help").status, cli::kExitEnvironment);
}

TEST_F(CliExitStatus, SkippedForLackOfPrivilege) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  if (cli_test::sh("command -v setpriv").status != 0) GTEST_SKIP() << "no setpriv";
  for (const std::string args : {"kernel IN", "replay IN --engine kernel", "replay IN --engine all",
                                 "kernel-check OKDIR", "kernel-fuzz --seconds 1 -o /tmp"}) {
    Result r = cli_test::sh("setpriv --reuid=65534 --regid=65534 --clear-groups " + kNv + " " +
                            fill(args));
    EXPECT_EQ(r.status, cli::kExitSkipped) << args << "\n" << r.out;
  }
}

TEST_F(CliExitStatus, AnOddCaptureIsBadInputNotAnInternalError) {
  Result r = run(fill("pcap-import FARPCAP"));
  EXPECT_EQ(r.status, cli::kExitUsage);
  EXPECT_NE(r.out.find(fill("netverify pcap-import: FARPCAP: frame 2: the clock jumps by")),
            std::string::npos)
      << r.out;
}

TEST_F(CliExitStatus, CheckSaysInvalidIsTwoWhateverElseFailed) {
  fs::copy_file(invalid_, dir_ + "/fail/invalid.trace");
  Result r = run(fill("check FAILDIR"));
  EXPECT_EQ(r.status, cli::kExitUsage) << r.out;
  EXPECT_NE(r.out.find("INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("EXPECT line 2"), std::string::npos) << r.out;
}

// The table README.md gives is the one --help prints.
TEST(CliExitStatusDoc, ReadmeHasTheTableOfHelp) {
  Result r = run("--help");
  const size_t at = r.out.find("exit status (every command):\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string table = r.out.substr(at);
  EXPECT_NE(read_file(std::string(NV_SOURCE_DIR) + "/README.md").find("```\n" + table + "```\n"),
            std::string::npos)
      << table;
  for (const cli::ExitStatusRow& row : cli::kExitStatusTable)
    EXPECT_NE(table.find(std::string(row.meaning)), std::string::npos);
  // Every command's help ends with it.
  for (const std::string& command : listed_commands())
    EXPECT_TRUE(run(command + " --help").out.ends_with(table)) << command;
}

// ---------------------------------------------------------------------------
// 4. Help.

TEST(CliHelp, Version) {
  Result r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, std::string("netverify ") + NV_VERSION + "\n");
  EXPECT_EQ(std::string(NV_VERSION), "0.3.0");
}

TEST(CliHelp, CommandListNamesEachCommandOnceAligned) {
  Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  const std::vector<std::string> commands = listed_commands();
  EXPECT_GE(commands.size(), 14u);
  size_t column = std::string::npos;
  std::istringstream in(r.out.substr(r.out.find("commands:\n")));
  std::string line;
  std::getline(in, line);
  for (const std::string& c : commands) {
    std::getline(in, line);
    ASSERT_TRUE(line.starts_with("  " + c + " ")) << line;
    // The name once (not again as the start of a usage line); the summary
    // starts in one column for all.
    const size_t summary = line.find_first_not_of(' ', 2 + c.size());
    EXPECT_FALSE(line.substr(summary).starts_with(c)) << line;
    if (column == std::string::npos) column = summary;
    EXPECT_EQ(summary, column) << line;
    EXPECT_LE(line.size(), 100u) << line;
  }
  EXPECT_EQ(run("help replay").out, run("replay --help").out);
}

// The usage line names every option the command accepts (it is generated
// from the flag table), and each option works in the place it names.
TEST(CliHelp, UsageLinesListEveryOption) {
  for (const std::string& command : listed_commands()) {
    Result r = run(command + " --help");
    EXPECT_EQ(r.status, 0) << command;
    const std::string usage = r.out.substr(0, r.out.find('\n'));
    EXPECT_TRUE(usage.starts_with("usage: netverify " + command)) << usage;
    std::istringstream in(r.out.substr(r.out.find("\noptions:\n") + 10));
    std::string line;
    std::set<std::string> options, in_usage;
    while (std::getline(in, line) && !line.empty()) {
      std::istringstream words(line);
      std::string flag;
      words >> flag;
      if (line.starts_with("  -") && flag != "--") options.insert(flag);
    }
    for (const auto& [flag, value] : usage_flags(command)) in_usage.insert(flag);
    EXPECT_EQ(options, in_usage) << usage;
    EXPECT_FALSE(options.empty() && command != "z3-prove" && command != "list") << command;
    // A command with operands says that -- ends the options.
    std::istringstream usage_words(usage.substr(("usage: netverify " + command).size()));
    std::string first;
    usage_words >> first;
    const bool operands = !first.empty() && !first.starts_with("-") && !first.starts_with("[-");
    EXPECT_EQ(r.out.find("\n  --                    end of options") != std::string::npos, operands)
        << command;
  }
  EXPECT_TRUE(
      run("replay --help")
          .out.starts_with("usage: netverify replay TRACE [--engine model|impl|both|kernel|all] "
                           "[--json] [--inject "
                           "MUTANT]... [--design SUB=NAME]... [--max-sleep S] [--max-bytes N] "
                           "[--max-line N] [--max-ops N]\n"));
  EXPECT_TRUE(run("pcap-export --help")
                  .out.starts_with("usage: netverify pcap-export TRACE -o FILE.pcap [--link "
                                   "ether|raw] [--max-bytes N]"));
  // A usage error shows the generated line.
  EXPECT_EQ(run("gen extra").out,
            "netverify gen: usage: netverify gen [--subsystem NAME] [--seed N] [--size N] "
            "[--ops N]\n");
}

TEST(CliHelp, ListNamesEverySubsystemMutantAndOp) {
  Result r = run("list");
  EXPECT_EQ(r.status, 0) << r.out;
  for (const runner::Subsystem& s : runner::subsystems()) {
    EXPECT_NE(r.out.find("\n  " + s.name + " (fuzz_" + s.name + ")\n"), std::string::npos)
        << s.name;
    for (const runner::MutantInfo& m : s.mutants) {
      EXPECT_NE(r.out.find(" " + m.name + " "), std::string::npos) << m.name;
      EXPECT_NE(r.out.find("  " + m.help + "\n"), std::string::npos) << m.name;
    }
  }
  size_t ops = 0;
  for (const auto& op : runner::registry().ops()) {
    const bool listed = r.out.find("\n  " + op->name + " ") != std::string::npos;
    EXPECT_TRUE(listed) << op->name;
    ops += listed;
  }
  EXPECT_GE(ops, 5u);
  // --fuzz-targets: one per subsystem, then all.
  Result targets = run("list --fuzz-targets");
  EXPECT_EQ(targets.status, 0);
  for (const runner::Subsystem& s : runner::subsystems())
    EXPECT_NE(targets.out.find(s.name + "\n"), std::string::npos) << s.name;
  EXPECT_TRUE(targets.out.ends_with("\nall\n")) << targets.out;
}

}  // namespace
}  // namespace nv
