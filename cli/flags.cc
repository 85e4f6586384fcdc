#include "cli/flags.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "cli/exit_status.h"
#include "fuzz/harness.h"
#include "runner/subsystem.h"
#include "trace/parser.h"
#include "trace/value.h"

namespace nv::cli {
namespace {

// The words of a kChoice placeholder "a|b|c".
std::vector<std::string_view> choices(std::string_view value) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    size_t bar = value.find('|', start);
    out.push_back(value.substr(start, bar - start));
    if (bar == std::string_view::npos) return out;
    start = bar + 1;
  }
}

// "a, b or c".
std::string one_of(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + std::string(words[i]);
  return out;
}

std::optional<uint64_t> parse_bytes(std::string_view text) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k':
        scale = uint64_t{1} << 10;
        break;
      case 'M':
        scale = uint64_t{1} << 20;
        break;
      case 'G':
        scale = uint64_t{1} << 30;
        break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  std::string error;
  auto n = trace::parse_uint(text, &error);
  if (!n || *n > UINT64_MAX / scale) return std::nullopt;
  return *n * scale;
}

// Seconds when bare ("10"), else a trace duration ("500ms", "30s", "2m").
std::optional<uint64_t> parse_duration(std::string_view text) {
  std::string error;
  if (!text.empty() && text.back() >= '0' && text.back() <= '9') {
    auto s = trace::parse_uint(text, &error);
    if (!s || *s > (uint64_t{1} << 40) / 1000) return std::nullopt;
    return *s * 1000;
  }
  return trace::parse_duration_ms(text, &error);
}

std::optional<uint64_t> number(const Flag& flag, std::string_view text) {
  std::string error;
  switch (flag.type) {
    case FlagType::kUint:
      return trace::parse_uint(text, &error);
    case FlagType::kBytes:
      return parse_bytes(text);
    case FlagType::kDuration:
      return parse_duration(text);
    default:
      return std::nullopt;
  }
}

std::string range(const Flag& flag) {
  if (flag.min == 0 && flag.max == UINT64_MAX) return "";
  if (flag.max == UINT64_MAX) return " " + std::to_string(flag.min) + " or more";
  return " " + std::to_string(flag.min) + ".." + std::to_string(flag.max);
}

}  // namespace

std::optional<std::string> check_value(const Flag& flag, std::string_view value) {
  const std::string bad =
      "bad " + std::string(flag.name) + " '" + trace::excerpt(value) + "' (expected ";
  switch (flag.type) {
    case FlagType::kText:
    case FlagType::kSwitch:
      return std::nullopt;
    case FlagType::kUint:
    case FlagType::kBytes:
    case FlagType::kDuration: {
      auto n = number(flag, value);
      if (n && flag.type != FlagType::kDuration && (*n < flag.min || *n > flag.max)) n.reset();
      if (n) return std::nullopt;
      if (flag.type == FlagType::kUint) return bad + "a number" + range(flag) + ")";
      if (flag.type == FlagType::kBytes)
        return bad + "a number of bytes" + range(flag) + ", or with K, M, G: 64K, 256M, 1G)";
      return bad + "seconds, or 500ms, 30s, 2m)";
    }
    case FlagType::kChoice: {
      const auto words = choices(flag.value);
      for (std::string_view w : words)
        if (w == value) return std::nullopt;
      return bad + one_of(words) + ")";
    }
    case FlagType::kMutant:
      if (runner::subsystem_of_mutant(value)) return std::nullopt;
      return unknown_mutant_message(value);
    case FlagType::kDesign: {
      runner::Designs ignored;
      return runner::add_design(value, ignored);
    }
    case FlagType::kSubsystem: {
      std::vector<std::string_view> names;
      for (const runner::Subsystem& s : runner::subsystems()) {
        if (s.name == value) return std::nullopt;
        names.push_back(s.name);
      }
      return "unknown subsystem '" + trace::excerpt(value) + "' for " + std::string(flag.name) +
             " (known: " + one_of(names) + ")";
    }
    case FlagType::kFuzzTarget: {
      const std::vector<std::string> targets = fuzz::target_names();
      std::vector<std::string_view> names(targets.begin(), targets.end());
      if (std::find(names.begin(), names.end(), value) != names.end()) return std::nullopt;
      return "unknown fuzz target '" + trace::excerpt(value) + "' for " + std::string(flag.name) +
             " (known: " + one_of(names) + ")";
    }
    case FlagType::kNamespace:
      if (trace::valid_name(value)) return std::nullopt;
      return bad + "a namespace name: 1 to 32 of a-z A-Z 0-9 _ - .)";
    case FlagType::kInputPath: {
      const std::string where = std::string(flag.name) + " " + trace::excerpt(value, 200) + ": ";
      struct stat st;
      if (value.empty()) return where + "empty path";
      if (access(std::string(value).c_str(), R_OK) != 0) return where + std::strerror(errno);
      if (stat(std::string(value).c_str(), &st) == 0 &&
          (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
        return where + "is a device, not a file or directory";
      return std::nullopt;
    }
    case FlagType::kOutputPath: {
      const std::string path(value);
      const std::string where = std::string(flag.name) + " " + trace::excerpt(value, 200) + ": ";
      struct stat st;
      if (path.empty()) return where + "empty path";
      if (path == "-") return std::nullopt;  // standard output
      if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return where + "is a directory (expected a file name)";
      std::filesystem::path dir = std::filesystem::path(path).parent_path();
      if (dir.empty()) dir = ".";
      if (stat(dir.c_str(), &st) != 0) return where + dir.string() + ": " + std::strerror(errno);
      if (!S_ISDIR(st.st_mode)) return where + dir.string() + " is not a directory";
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::vector<Flag> reads_input(std::vector<Flag> own) {
  own.insert(own.end(), kInputLimitFlags.begin(), kInputLimitFlags.end());
  return own;
}

const Flag& Args::flag(std::string_view name) const {
  for (const Flag& f : command_->flags)
    if (f.name == name) return f;
  std::fprintf(stderr, "netverify %s: internal error: no flag %.*s\n",
               std::string(command_->name).c_str(), int(name.size()), name.data());
  std::abort();
}

std::string Args::get(std::string_view name, std::string dflt) const {
  flag(name);
  auto it = flags_.find(name);
  return it == flags_.end() || it->second.empty() ? dflt : it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view name) const {
  static const std::vector<std::string> kNone;
  flag(name);
  auto it = flags_.find(name);
  return it == flags_.end() ? kNone : it->second;
}

uint64_t Args::uint(std::string_view name, uint64_t dflt) const {
  const Flag& f = flag(name);
  if (f.type != FlagType::kUint && f.type != FlagType::kBytes) std::abort();
  auto it = flags_.find(name);
  return it == flags_.end() ? dflt : *number(f, it->second.back());
}

uint64_t Args::duration_ms(std::string_view name, uint64_t dflt) const {
  const Flag& f = flag(name);
  if (f.type != FlagType::kDuration) std::abort();
  auto it = flags_.find(name);
  return it == flags_.end() ? dflt : *number(f, it->second.back());
}

InputLimits Args::input_limits() const {
  // The limits the command declares; the defaults for the others (decode
  // and pcap-import read bytes, not lines: they have --max-bytes only).
  InputLimits limits;
  for (const Flag& f : command_->flags) {
    if (f.name == "--max-bytes") limits.max_bytes = uint(f.name, limits.max_bytes);
    if (f.name == "--max-line") limits.max_line = uint(f.name, limits.max_line);
    if (f.name == "--max-ops") limits.max_ops = uint(f.name, limits.max_ops);
  }
  return limits;
}

std::optional<Args> parse_args(const Command& command, const std::vector<std::string>& argv,
                               std::string* error) {
  Args args(command);
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_ended || a.size() < 2 || a[0] != '-') {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_ended = true;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : command.flags)
      if (f.name == name) flag = &f;
    if (!flag) {
      *error = "unknown option '" + trace::excerpt(name) + "' (" + usage_line(command) + ")";
      return std::nullopt;
    }
    if (flag->type == FlagType::kSwitch) {
      if (inline_value) {
        *error = "option '" + name + "' takes no value";
        return std::nullopt;
      }
    } else if (!inline_value) {
      if (i + 1 >= argv.size()) {
        *error = "option '" + name + "' needs a value (" + std::string(flag->value) + ")";
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (!flag->repeatable && args.has(name)) {
      *error = "option '" + name + "' given twice";
      return std::nullopt;
    }
    if (auto e = check_value(*flag, value)) {
      *error = *e;
      return std::nullopt;
    }
    args.flags_[name].push_back(value);
  }
  for (const Flag& f : command.flags) {
    if (f.required && !args.has(f.name)) {
      *error = std::string(f.name) + " " + std::string(f.value) + " is required (" +
               usage_line(command) + ")";
      return std::nullopt;
    }
  }
  if (args.positional.size() < command.min_positional ||
      args.positional.size() > command.max_positional) {
    *error = usage_line(command);
    return std::nullopt;
  }
  return args;
}

std::string usage_line(const Command& command) {
  std::string out = "usage: netverify " + std::string(command.name);
  if (!command.operands.empty()) out += " " + std::string(command.operands);
  for (const Flag& f : command.flags) {
    std::string text(f.name);
    if (!f.value.empty()) text += " " + std::string(f.value);
    out += " " + (f.required ? text : "[" + text + "]");
    if (f.repeatable) out += "...";
  }
  return out;
}

std::string exit_status_text() {
  std::string out = "exit status (every command):\n";
  for (const ExitStatusRow& row : kExitStatusTable) {
    char status[16];
    if (row.meaning.starts_with(' '))
      std::snprintf(status, sizeof(status), "  %-4s", "");
    else
      std::snprintf(status, sizeof(status), "  %-4d", row.status);
    out += status + std::string(row.meaning) + "\n";
  }
  return out;
}

std::string help_text(const Command& command) {
  std::string out = usage_line(command) + "\n\n" + std::string(command.help) + "\n";
  std::vector<std::pair<std::string, std::string_view>> options;
  for (const Flag& f : command.flags)
    options.emplace_back(std::string(f.name) + (f.value.empty() ? "" : " ") + std::string(f.value),
                         f.help);
  if (command.max_positional > 0)
    options.emplace_back("--", "end of options: what follows is an operand");
  if (!options.empty()) out += "\noptions:\n";
  for (const auto& [name, help] : options) {
    std::string left = "  " + name;
    if (left.size() < 24)
      left.resize(24, ' ');
    else
      left += "\n" + std::string(24, ' ');
    out += left + std::string(help) + "\n";
  }
  out += "\n" + exit_status_text();
  return out;
}

}  // namespace nv::cli
