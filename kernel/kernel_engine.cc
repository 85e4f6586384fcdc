#include "kernel/kernel_engine.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "kernel/netns.h"
#include "kernel/pcap_file.h"
#include "kernel/step_codec.h"
#include "kernel/wire.h"
#include "trace/frag/frag_ops.h"
#include "trace/netns/netns_ops.h"
#include "trace/registry.h"

namespace nv::kernel {
namespace {

constexpr std::string_view kInit = "init";

// Everything a namespace name needs over the whole trace: raw sockets for
// each (family, protocol) its fragments carry, and their destinations.
std::map<std::string, Netns::Config, std::less<>> configs_of(const trace::Trace& trace) {
  std::map<std::string, Netns::Config, std::less<>> out;
  std::map<std::string, std::set<std::pair<frag::Family, uint8_t>>, std::less<>> listen;
  std::map<std::string, std::set<trace::Addr>, std::less<>> addrs;
  out[std::string(kInit)];
  for (const trace::Op& op : trace.ops) {
    if (op.spec->name == "netns add") out[op.name(netns::fields::kName)];
    if (op.spec->name != "frag") continue;
    frag::Fragment f = frag::fragment_of(op);
    listen[std::string(f.ns)].emplace(f.family, f.proto);
    addrs[std::string(f.ns)].insert(f.dst);
  }
  for (auto& [ns, config] : out) {
    config.listen.assign(listen[ns].begin(), listen[ns].end());
    config.addresses.assign(addrs[ns].begin(), addrs[ns].end());
  }
  return out;
}

trace::Event deliver_event(std::string_view ns, const RawDelivery& d) {
  frag::Fnv1a64 h;
  h.update(d.payload.data(), d.payload.size());
  if (d.id) {
    frag::Fragment head;
    head.ns = ns;
    head.family = d.family;
    head.src = d.src;
    head.dst = d.dst;
    head.proto = d.proto;
    head.id = *d.id;
    return frag::deliver_event(head, uint32_t(d.payload.size()), h.value());
  }
  // The same fields without the id, which a v6 raw socket does not see.
  trace::Event e{"deliver", {}};
  e.add("ns", std::string(ns))
      .add("family", frag::family_name(d.family))
      .add("src", trace::format_addr(d.src))
      .add("dst", trace::format_addr(d.dst))
      .add("proto", uint64_t(d.proto))
      .add("len", uint64_t(d.payload.size()))
      .add("fnv1a64", trace::format_hex64(h.value()));
  return e;
}

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

// The child: runs the trace, reports on `out`, never returns.
class Child {
 public:
  Child(const trace::Trace& trace, const KernelOptions& options, int out)
      : trace_(trace), options_(options), out_(out), configs_(configs_of(trace)) {}

  [[noreturn]] void run() {
    NetnsError error;
    if (!run_trace(&error)) {
      // Close everything before reporting, so that nothing outlives the report.
      capture_.reset();
      live_.clear();
      auto status =
          error.unavailable ? KernelResult::Status::kUnavailable : KernelResult::Status::kFailed;
      write_all(out_, encode_fail(status, error.message));
      _exit(error.unavailable ? 77 : 1);
    }
    _exit(0);
  }

 private:
  bool run_trace(NetnsError* error) {
    // Both the fragment and its barrier must queue on one CPU's backlog.
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(sched_getcpu(), &cpus);
    sched_setaffinity(0, sizeof(cpus), &cpus);

    if (!add_netns(std::string(kInit), error)) return false;
    if (!options_.capture_path.empty()) {
      capture_ = LiveCapture::open("lo", options_.capture_path, &error->message);
      if (!capture_) return false;
    }
    for (size_t i = 0; i < trace_.ops.size(); ++i) {
      const trace::Op& op = trace_.ops[i];
      if (op.spec->expect) continue;
      KernelStep step;
      step.op_index = i;
      step.line = op.line;
      if (!apply(op, step.events, error) || !snapshot(step.counters, error)) {
        error->message = "line " + std::to_string(op.line) + ": " + error->message;
        return false;
      }
      if (!write_all(out_, encode_step(step))) return fail(error, "writing to the parent");
    }
    std::vector<trace::Event> end;
    trace::Snapshot snap;
    if (!snapshot(snap, error)) return false;
    for (const auto& [name, ns] : live_) end.push_back(counters_event(name, snap));
    if (capture_ && !capture_->close(&error->message)) return false;
    capture_.reset();
    live_.clear();
    if (!write_all(out_, encode_end(end))) return fail(error, "writing to the parent");
    return true;
  }

  bool apply(const trace::Op& op, std::vector<trace::Event>& events, NetnsError* error) {
    const std::string& name = op.spec->name;
    if (name == "netns add") return add_netns(op.name(netns::fields::kName), error);
    if (name == "netns del") {
      const std::string& ns = op.name(netns::fields::kName);
      trace::Snapshot snap;
      if (!snapshot(snap, error)) return false;
      events.push_back(counters_event(ns, snap));
      live_.erase(ns);
      return true;
    }
    if (name == "tick") {
      std::this_thread::sleep_for(std::chrono::milliseconds(op.u(trace::core::kTickDuration)));
      return drain(events, error);
    }
    if (name == "sysctl") {
      const std::string& ns = op.name(trace::core::kSysctlNs);
      Netns& netns = *live_.at(ns);
      if (current_ != ns) {
        if (!netns.enter(error)) return false;
        current_ = ns;
      }
      bool refused;
      if (netns.write_sysctl(op.word_text(trace::core::kSysctlKey), op.u(trace::core::kSysctlValue),
                             &refused, error))
        return true;
      if (!refused) return false;
      events.push_back(trace::sysctl_refused_event(op));
      return true;
    }
    if (name == "frag") {
      frag::Fragment f = frag::fragment_of(op);
      if (!live_.find(f.ns)->second->send(frag_frame(f), error)) return false;
      if (capture_ && !capture_->poll(&error->message)) return false;
      return drain(events, error);
    }
    return true;  // another subsystem's operation
  }

  bool add_netns(const std::string& name, NetnsError* error) {
    auto ns = Netns::create(configs_.at(name), error);
    if (!ns) return false;
    live_[name] = std::move(ns);
    current_ = name;
    return true;
  }

  bool drain(std::vector<trace::Event>& events, NetnsError* error) {
    for (const auto& [name, ns] : live_) {
      std::vector<RawDelivery> got;
      if (!ns->drain(got, error)) return false;
      for (const RawDelivery& d : got) events.push_back(deliver_event(name, d));
    }
    return true;
  }

  bool snapshot(trace::Snapshot& snap, NetnsError* error) {
    for (const auto& [name, ns] : live_) {
      CounterMap values;
      if (!ns->counters(values, error)) return false;
      auto& out = snap.ns[name];
      for (const auto& [k, v] : values) out[k] = v;
    }
    return true;
  }

  static bool fail(NetnsError* error, const std::string& what) {
    error->message = what + ": " + std::strerror(errno);
    return false;
  }

  const trace::Trace& trace_;
  const KernelOptions& options_;
  const int out_;
  const std::map<std::string, Netns::Config, std::less<>> configs_;
  std::map<std::string, std::unique_ptr<Netns>, std::less<>> live_;
  std::string current_;  // the namespace the thread is in
  std::unique_ptr<LiveCapture> capture_;
};

}  // namespace

int KernelResult::exit_status() const {
  switch (status) {
    case Status::kOk:
      return 0;
    case Status::kRefused:
      return 2;
    case Status::kUnavailable:
      return 77;
    case Status::kFailed:
      return 1;
  }
  return 1;
}

std::optional<std::string> refusal(const trace::Trace& trace, const KernelOptions& options) {
  uint64_t sleep_ms = 0;
  for (const trace::Op& op : trace.ops) {
    if (op.spec->name == "tick") sleep_ms += op.u(trace::core::kTickDuration);
    if (op.spec->name != "frag") continue;
    const frag::Fragment f = frag::fragment_of(op);
    if (f.proto == 0)
      return "line " + std::to_string(op.line) +
             ": the kernel engine cannot receive protocol 0 (no raw socket binds to it)";
    if (f.family == frag::Family::kV6 && f.proto == 58)
      return "line " + std::to_string(op.line) +
             ": the kernel engine cannot observe ICMPv6 deliveries (a raw ICMPv6 socket "
             "drops datagrams whose checksum is wrong, and the kernel answers the others)";
  }
  if (sleep_ms > options.max_sleep_ms)
    return "the trace's ticks add up to " + trace::format_duration_ms(sleep_ms) +
           ", more than the kernel engine may sleep (" +
           trace::format_duration_ms(options.max_sleep_ms) +
           "; it sleeps for real: raise the bound with --max-sleep)";
  return std::nullopt;
}

trace::Event counters_event(const std::string& ns, const trace::Snapshot& snap) {
  trace::Event e{"counters", {}};
  e.add("ns", ns);
  for (std::string_view name : kFragCounters) e.add(std::string(name), snap.get(ns, name));
  return e;
}

KernelResult run(const trace::Trace& trace, const KernelOptions& options) {
  KernelResult result;
  if (auto why = refusal(trace, options)) {
    result.status = KernelResult::Status::kRefused;
    result.message = *why;
    return result;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.status = KernelResult::Status::kFailed;
    result.message = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    result.status = KernelResult::Status::kFailed;
    result.message = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    signal(SIGPIPE, SIG_DFL);
    Child(trace, options, fds[1]).run();
  }
  close(fds[1]);
  std::string stream;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    stream.append(buf, size_t(n));
  }
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  const bool decoded = decode_stream(stream, &result);
  if (result.status != KernelResult::Status::kOk) return result;
  if (!decoded || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    result.status = KernelResult::Status::kFailed;
    result.message =
        WIFSIGNALED(wstatus)
            ? "the kernel engine's child died of signal " + std::to_string(WTERMSIG(wstatus))
            : "the kernel engine's child exited with status " +
                  std::to_string(WEXITSTATUS(wstatus)) + (decoded ? "" : " and a malformed report");
  }
  return result;
}

}  // namespace nv::kernel
