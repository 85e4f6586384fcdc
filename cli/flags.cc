#include "cli/flags.h"

namespace nv::cli {

std::string Args::get(std::string_view flag, std::string dflt) const {
  auto it = flags.find(flag);
  return it == flags.end() || it->second.empty() ? dflt : it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view flag) const {
  static const std::vector<std::string> kNone;
  auto it = flags.find(flag);
  return it == flags.end() ? kNone : it->second;
}

std::optional<Args> parse_args(const Command& command, const std::vector<std::string>& argv,
                               std::string* error) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      args.positional.push_back(a);
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
      *error = "unknown option '" + name + "' for '" + std::string(command.name) + "'";
      return std::nullopt;
    }
    if (flag->value.empty()) {
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
    args.flags[name].push_back(value);
  }
  if (args.positional.size() < command.min_positional ||
      args.positional.size() > command.max_positional) {
    *error = "usage: netverify " + std::string(command.usage);
    return std::nullopt;
  }
  return args;
}

std::string help_text(const Command& command) {
  std::string out =
      "usage: netverify " + std::string(command.usage) + "\n\n" + std::string(command.help) + "\n";
  if (!command.flags.empty()) out += "\noptions:\n";
  for (const Flag& f : command.flags) {
    std::string left = "  " + std::string(f.name);
    if (!f.value.empty()) left += " " + std::string(f.value);
    if (left.size() < 24)
      left.resize(24, ' ');
    else
      left += "  ";
    out += left + std::string(f.help) + "\n";
  }
  return out;
}

}  // namespace nv::cli
