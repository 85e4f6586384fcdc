#include "properties/failure.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace nv::props {

std::string failure_path(const std::string& name) {
  const char* dir = std::getenv("NV_FAILURE_DIR");
  std::filesystem::path path =
      std::filesystem::path(dir && *dir ? dir : ".") / (name + ".failure.trace");
  std::error_code ec;
  return std::filesystem::absolute(path, ec).string();
}

std::string save_failure(const std::string& name, const std::string& trace_text) {
  const std::filesystem::path path = failure_path(name);
  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << trace_text;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return path.string();
}

std::string replay_command(const std::string& path, const std::vector<std::string>& mutants) {
  std::string cmd = "netverify replay " + path;
  for (const auto& m : mutants) cmd += " --inject " + m;
  return cmd;
}

}  // namespace nv::props
