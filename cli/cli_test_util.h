// Running the netverify command from tests as a user runs it: exit status
// and output, plus the corpus and temporary-file helpers the CLI tests share.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace nv::cli_test {

struct Result {
  int status;
  std::string out;
};

// Runs a shell command; `out` is its stdout, and its stderr too unless
// `stdout_only`.
inline Result sh(const std::string& command, bool stdout_only = false) {
  const std::string cmd = stdout_only ? command : command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline Result netverify(const std::string& args, bool stdout_only = false) {
  return sh(std::string(NV_NETVERIFY) + " " + args, stdout_only);
}

inline std::string corpus(const std::string& rel) {
  return std::string(NV_SOURCE_DIR) + "/corpora/" + rel;
}

inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace nv::cli_test
