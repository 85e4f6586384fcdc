#include "cli/trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/exit_status.h"
#include "runner/subsystem.h"
#include "trace/parser.h"

namespace nv::cli {
namespace {

std::string position(const std::string& path, uint64_t line, uint64_t col) {
  return path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
}

// Why `st` is no input file, or nullptr: a regular file or a pipe is.
const char* not_a_file(const struct stat& st) {
  if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) return nullptr;
  if (S_ISDIR(st.st_mode)) return "is a directory, not a file";
  if (S_ISCHR(st.st_mode)) return "is a character device, not a file";
  if (S_ISBLK(st.st_mode)) return "is a block device, not a file";
  return "is not a regular file or a pipe";
}

}  // namespace

std::optional<std::string> read_input(const std::string& path, uint64_t max_bytes,
                                      uint64_t max_line, std::string* error) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (const char* why = not_a_file(st)) {
    *error = path + ": " + why;
    return std::nullopt;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  if (S_ISREG(st.st_mode) && uint64_t(st.st_size) <= max_bytes) text.reserve(size_t(st.st_size));
  // Where the next byte goes: its line, and the length of that line so far.
  uint64_t line = 1, line_len = 0;
  std::string why;
  char buf[1 << 16];
  while (why.empty()) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = path + ": " + std::strerror(errno);
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    // The bytes within the limits, counted line by line.
    size_t keep = 0;
    for (; keep < size_t(n); ++keep) {
      if (text.size() + keep == max_bytes) {
        why = "input longer than " + std::to_string(max_bytes) + " bytes (--max-bytes)";
        break;
      }
      if (buf[keep] == '\n') {
        ++line;
        line_len = 0;
      } else if (++line_len > max_line && max_line != 0) {
        why = "line longer than " + std::to_string(max_line) + " bytes (--max-line)";
        break;
      }
    }
    text.append(buf, keep);
  }
  if (!why.empty()) {
    // At the first byte past the limit.
    *error = position(path, line, line_len + (why.ends_with("(--max-line)") ? 0 : 1)) + why;
    close(fd);
    return std::nullopt;
  }
  close(fd);
  return text;
}

std::optional<std::string> check_trace_text(const std::string& path, std::string_view text,
                                            const InputLimits& limits) {
  if (text.starts_with("\xEF\xBB\xBF"))
    return position(path, 1, 1) + "byte-order mark '" + trace::excerpt(text.substr(0, 3)) +
           "' (a trace is UTF-8 text without one)";
  uint64_t line = 0, ops = 0;
  bool header_allowed = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view l = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (size_t nul = l.find('\0'); nul != std::string_view::npos)
      return position(path, line, nul + 1) +
             "NUL byte '\\0' (a trace is text; for a fuzz input, netverify decode FILE prints "
             "its trace)";
    const size_t first = l.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || l[first] == '#') continue;
    // The version line is no operation (trace/parser.cc accepts it first).
    if (header_allowed && l.substr(first).starts_with("netverify-trace")) {
      header_allowed = false;
      continue;
    }
    header_allowed = false;
    if (++ops > limits.max_ops)
      return position(path, line, first + 1) + "more than " + std::to_string(limits.max_ops) +
             " operations (--max-ops)";
  }
  return std::nullopt;
}

std::optional<std::string> load_trace_text(const std::string& path, const InputLimits& limits) {
  std::string error;
  std::optional<std::string> text = read_input(path, limits.max_bytes, limits.max_line, &error);
  if (text) {
    if (auto e = check_trace_text(path, *text, limits)) {
      error = *e;
      text.reset();
    }
  }
  if (!text) std::fprintf(stderr, "%s\n", error.c_str());
  return text;
}

std::optional<TraceFile> load_trace_file(const std::string& path, const InputLimits& limits) {
  std::optional<std::string> text = load_trace_text(path, limits);
  if (!text) return std::nullopt;
  trace::ParseResult r = trace::parse(*text, runner::registry());
  if (r.error) {
    std::fprintf(stderr, "%s\n", trace::format_diagnostic(path, *r.error).c_str());
    return std::nullopt;
  }
  return TraceFile{std::move(*text), std::move(r.trace)};
}

std::optional<trace::Trace> load_trace(const std::string& path, const InputLimits& limits) {
  auto f = load_trace_file(path, limits);
  if (!f) return std::nullopt;
  return std::move(f->trace);
}

std::vector<std::string> declared_in_text(std::string_view text, std::string_view tag) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.starts_with(tag)) continue;
    std::string name(line.substr(tag.size()));
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t\r") + 1);
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

std::vector<std::string> declared(const std::string& path, std::string_view tag) {
  std::string error;
  auto text = read_input(path, InputLimits{}.max_bytes, 0, &error);
  return text ? declared_in_text(*text, tag) : std::vector<std::string>{};
}

std::vector<std::string> declared_mutants(const std::string& path) {
  return declared(path, "# mutant:");
}

std::vector<std::string> declared_mutants_in_text(std::string_view text) {
  return declared_in_text(text, "# mutant:");
}

bool trace_files_under(const std::string& dir, const char* command,
                       std::vector<std::string>* paths) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "netverify %s: %s: %s\n", command, dir.c_str(),
                 ec ? ec.message().c_str() : "not a directory");
    return false;
  }
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && it->path().extension() == ".trace")
      paths->push_back(it->path().string());
  }
  if (ec) {
    std::fprintf(stderr, "netverify %s: %s: %s\n", command, dir.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(paths->begin(), paths->end());
  if (paths->empty()) {
    std::fprintf(stderr, "netverify %s: no .trace files under %s\n", command, dir.c_str());
    return false;
  }
  return true;
}

int report_failures(const runner::RunResult& result, bool json, const std::string& reproduce) {
  if (json) {
    if (const auto& d = result.divergence)
      std::printf("{\"event\":\"divergence\",\"engine\":\"runner\",\"line\":%u}\n", d->line);
    for (const auto& f : result.expect_failures)
      std::printf("{\"event\":\"expect-failed\",\"engine\":\"%s\",\"line\":%u}\n", f.engine.c_str(),
                  f.line);
  }
  if (result.ok()) return kExitOk;
  std::fputs(runner::format_failure(result).c_str(), stderr);
  if (result.refusal) return kExitUsage;  // the trace is for another design: nothing to reproduce
  std::fprintf(stderr, "reproduce: %s\n", reproduce.c_str());
  return kExitFinding;
}

std::string unknown_mutant_message(std::string_view name) {
  std::string out = "unknown mutant '" + trace::excerpt(name) + "'; known mutants:";
  for (const auto& s : runner::subsystems())
    for (const auto& m : s.mutants) out += "\n  " + m.name + "  " + m.help;
  return out;
}

bool valid_mutants(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (runner::subsystem_of_mutant(n)) continue;
    std::fprintf(stderr, "netverify: %s\n", unknown_mutant_message(n).c_str());
    return false;
  }
  return true;
}

}  // namespace nv::cli
