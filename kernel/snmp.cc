#include "kernel/snmp.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace nv::kernel {
namespace {

constexpr const char* kPaths[3] = {"/proc/self/net/snmp", "/proc/self/net/netstat",
                                   "/proc/self/net/snmp6"};

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t* v) {
  if (s.empty()) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + uint64_t(c - '0');
  }
  *v = x;
  return true;
}

bool read_all(int fd, std::string* text, std::string* error) {
  text->clear();
  char buf[8192];
  for (off_t off = 0;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("reading /proc/self/net: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    text->append(buf, size_t(n));
    off += n;
  }
}

}  // namespace

void parse_snmp_table(std::string_view text, CounterMap& out) {
  std::vector<std::string_view> lines = lines_of(text);
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    std::vector<std::string_view> names = split_ws(lines[i]), values = split_ws(lines[i + 1]);
    if (names.empty() || values.empty() || names[0] != values[0] || !names[0].ends_with(':'))
      continue;
    std::string_view prefix = names[0].substr(0, names[0].size() - 1);
    for (size_t k = 1; k < names.size() && k < values.size(); ++k) {
      uint64_t v;
      if (parse_u64(values[k], &v)) out[std::string(prefix) + std::string(names[k])] = v;
    }
  }
}

void parse_snmp6(std::string_view text, CounterMap& out) {
  for (std::string_view line : lines_of(text)) {
    std::vector<std::string_view> f = split_ws(line);
    uint64_t v;
    if (f.size() == 2 && parse_u64(f[1], &v)) out[std::string(f[0])] = v;
  }
}

ProcCounters::~ProcCounters() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

bool ProcCounters::open(std::string* error) {
  for (size_t i = 0; i < fds_.size(); ++i) {
    fds_[i] = ::open(kPaths[i], O_RDONLY | O_CLOEXEC);
    if (fds_[i] < 0) {
      *error = std::string("open ") + kPaths[i] + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

bool ProcCounters::read(CounterMap& out, std::string* error) const {
  CounterMap all;
  std::string text;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (!read_all(fds_[i], &text, error)) return false;
    if (i < 2)
      parse_snmp_table(text, all);
    else
      parse_snmp6(text, all);
  }
  out.clear();
  for (std::string_view name : kFragCounters) {
    auto it = all.find(name);
    out[std::string(name)] = it == all.end() ? 0 : it->second;
  }
  return true;
}

}  // namespace nv::kernel
