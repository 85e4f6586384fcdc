// Command-line parsing for netverify's commands.
//
// Every command declares its flags once, in one table with their help text;
// parsing and --help output both come from that table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nv::cli {

struct Flag {
  std::string_view name;   // "--engine"
  std::string_view value;  // placeholder of its value ("ENGINE"), empty for a switch
  std::string_view help;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;

  bool has(std::string_view flag) const { return flags.count(flag) != 0; }
  std::string get(std::string_view flag, std::string dflt) const;
  const std::vector<std::string>& all(std::string_view flag) const;
};

struct Command {
  std::string_view name;
  std::string_view usage;  // "replay TRACE [options]"
  std::string_view help;   // one paragraph
  std::vector<Flag> flags;
  size_t min_positional = 0, max_positional = 0;
  int (*run)(const Args& args);
};

// Parses argv for `command`; on error sets *error and returns std::nullopt.
std::optional<Args> parse_args(const Command& command, const std::vector<std::string>& argv,
                               std::string* error);
std::string help_text(const Command& command);

// Commands, each defined in its own file.
const Command& replay_command();
const Command& check_command();
const Command& gen_command();
const Command& decode_command();
const Command& encode_command();
const Command& minimize_command();
const Command& mutants_command();
const Command& kernel_command();
const Command& kernel_check_command();
const Command& pcap_import_command();
const Command& pcap_export_command();
const Command& z3_cases_command();
const Command& z3_prove_command();
const Command& list_command();

}  // namespace nv::cli
