// What the CLI commands that run the kernel engine share: `netverify
// kernel`, `netverify kernel-check` and `netverify replay --engine all`
// (cli/kernel.cc).
#pragma once

#include "cli/flags.h"
#include "kernel/kernel_engine.h"

namespace nv::cli {

// The --max-sleep flag of every such command.
inline constexpr Flag kMaxSleepFlag{.name = "--max-sleep",
                                    .value = "S",
                                    .help =
                                        "refuse traces whose ticks add up to more than S "
                                        "seconds (or 500ms, 2m; default 10)",
                                    .type = FlagType::kDuration};

// Kernel options from the flags (validated by parse_args).
kernel::KernelOptions kernel_options(const Args& args);

// The exit status of a kernel run (cli/exit_status.h): a failed system call
// is an environment failure.
int kernel_exit_status(const kernel::KernelResult& result);

// `netverify replay TRACE --engine kernel`: the same as `netverify kernel`.
int run_kernel_only(const Args& args);

// `netverify replay TRACE --engine all`: model and impl as `replay` runs
// them, then the kernel, then the three-way comparison.
int run_replay_all(const Args& args);

}  // namespace nv::cli
