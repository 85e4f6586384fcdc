// What the CLI commands that run the kernel engine share: `netverify
// kernel`, `netverify kernel-check` and `netverify replay --engine all`
// (cli/kernel.cc).
#pragma once

#include <optional>
#include <string>

#include "cli/flags.h"
#include "kernel/kernel_engine.h"

namespace nv::cli {

// The --max-sleep flag of every such command.
inline constexpr Flag kMaxSleepFlag{"--max-sleep", "S",
                                    "refuse traces whose ticks add up to more than S seconds "
                                    "(or 500ms, 2m; default 10)"};

// Kernel options from the flags; on a bad value prints an error and returns
// std::nullopt.
std::optional<kernel::KernelOptions> kernel_options(const Args& args, const char* command);

// `netverify replay TRACE --engine kernel`: the same as `netverify kernel`.
int run_kernel_only(const Args& args);

// `netverify replay TRACE --engine all`: model and impl as `replay` runs
// them, then the kernel, then the three-way comparison.
int run_replay_all(const Args& args);

}  // namespace nv::cli
