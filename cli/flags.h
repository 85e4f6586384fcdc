// Command-line parsing for netverify's commands.
//
// Every command declares its flags once, in one table with their help text
// and the type of their value. Parsing, validation, the usage line and
// --help all come from that table: a value is checked the same way, with the
// same message, by every command that accepts the flag, before the command
// runs; the typed getters of Args then cannot fail.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/trace_file.h"

namespace nv::cli {

enum class FlagType : uint8_t {
  kText,        // any value
  kSwitch,      // no value (the flag's `value` placeholder is empty)
  kUint,        // decimal or 0x hexadecimal, within [min, max]
  kBytes,       // a byte count: N, or NK, NM, NG (KiB, MiB, GiB), within [min, max]
  kDuration,    // seconds, or 500ms, 30s, 2m (Args::duration_ms)
  kChoice,      // one of the words of `value`, which reads "a|b|c"
  kMutant,      // a mutant some subsystem registers (nv::runner::subsystems())
  kDesign,      // SUBSYSTEM=DESIGN, one of the subsystem's impl designs
  kSubsystem,   // a registered subsystem
  kFuzzTarget,  // a fuzz target: a subsystem's, or all
  kNamespace,   // a trace namespace name
  kInputPath,   // an existing file or directory this process can read
  kOutputPath,  // a file to write: not a directory, in a directory that exists; "-" for
                // standard output (OutputFile creates it)
};

struct Flag {
  std::string_view name;   // "--engine"
  std::string_view value;  // placeholder of its value ("ENGINE"), empty for a switch
  std::string_view help;
  FlagType type = FlagType::kText;
  bool repeatable = false;  // may be given more than once (Args::all)
  bool required = false;
  uint64_t min = 0, max = UINT64_MAX;  // kUint and kBytes
};

// Flags several commands share, defined once.
inline constexpr Flag kJsonFlag{.name = "--json",
                                .value = "",
                                .help = "write one JSON event per line on stdout",
                                .type = FlagType::kSwitch};
inline constexpr Flag kInjectFlag{
    .name = "--inject",
    .value = "MUTANT",
    .help = "switch on a mutant in the impl (repeatable; 'netverify list' names them)",
    .type = FlagType::kMutant,
    .repeatable = true};
inline constexpr Flag kDesignFlag{
    .name = "--design",
    .value = "SUB=NAME",
    .help =
        "build the impl of subsystem SUB in its design NAME (repeatable; 'netverify list' "
        "names them; default: each subsystem's first)",
    .type = FlagType::kDesign,
    .repeatable = true};
// The limits of every command that reads traces or fuzz inputs (InputLimits).
inline constexpr std::array<Flag, 3> kInputLimitFlags{{
    {.name = "--max-bytes",
     .value = "N",
     .help = "refuse an input file larger than N bytes (64K, 256M, 1G; default 256M)",
     .type = FlagType::kBytes,
     .min = 1},
    {.name = "--max-line",
     .value = "N",
     .help = "refuse a trace line longer than N bytes (default 1M)",
     .type = FlagType::kBytes,
     .min = 1},
    {.name = "--max-ops",
     .value = "N",
     .help = "refuse a trace of more than N operations (default 10000000)",
     .type = FlagType::kUint,
     .min = 1},
}};

// `own` followed by kInputLimitFlags: the flag table of a command that reads
// traces.
std::vector<Flag> reads_input(std::vector<Flag> own);

struct Command;

// A parsed command line. The flag values were validated against the
// command's table, so the typed getters cannot fail; asking for a flag the
// command does not declare, or with a getter of another type, aborts.
class Args {
 public:
  explicit Args(const Command& command) : command_(&command) {}

  std::vector<std::string> positional;

  bool has(std::string_view flag) const { return flags_.count(flag) != 0; }
  // The value given, or `dflt`.
  std::string get(std::string_view flag, std::string dflt) const;
  // Every value of a repeatable flag, in order.
  const std::vector<std::string>& all(std::string_view flag) const;
  uint64_t uint(std::string_view flag, uint64_t dflt) const;         // kUint, kBytes
  uint64_t duration_ms(std::string_view flag, uint64_t dflt) const;  // kDuration
  InputLimits input_limits() const;                                  // kInputLimitFlags

 private:
  friend std::optional<Args> parse_args(const Command&, const std::vector<std::string>&,
                                        std::string*);
  const Flag& flag(std::string_view name) const;

  const Command* command_;
  std::map<std::string, std::vector<std::string>, std::less<>> flags_;
};

struct Command {
  std::string_view name;
  std::string_view summary;   // one line for `netverify --help`
  std::string_view operands;  // "TRACE", "DIR", "[PROOF]..."; the flags follow from `flags`
  std::string_view help;      // one paragraph
  std::vector<Flag> flags;
  size_t min_positional = 0, max_positional = 0;
  int (*run)(const Args& args);
};

// Checks one flag value; the error, or std::nullopt when it is valid.
std::optional<std::string> check_value(const Flag& flag, std::string_view value);

// Parses argv for `command`: flags anywhere, "--" ends them. On error sets
// *error and returns std::nullopt.
std::optional<Args> parse_args(const Command& command, const std::vector<std::string>& argv,
                               std::string* error);
// "netverify replay TRACE [--engine model|impl|both|kernel|all] ...", from
// the flag table.
std::string usage_line(const Command& command);
std::string help_text(const Command& command);
// The exit-status table (cli/exit_status.h) as --help prints it.
std::string exit_status_text();

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
const Command& kernel_fuzz_command();
const Command& pcap_import_command();
const Command& pcap_export_command();
const Command& z3_cases_command();
const Command& z3_prove_command();
const Command& list_command();

}  // namespace nv::cli
