#include "kernel/kernel_engine.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
// each (family, protocol) its fragments carry, and their addresses.
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
    // Sources too: an ICMP error goes back to the source, and is sent only
    // where there is a route to it.
    addrs[std::string(f.ns)].insert(f.src);
    addrs[std::string(f.ns)].insert(f.dst);
  }
  for (auto& [ns, config] : out) {
    config.listen.assign(listen[ns].begin(), listen[ns].end());
    config.addresses.assign(addrs[ns].begin(), addrs[ns].end());
  }
  return out;
}

// A delivery as the engines report it. `completing` is the fragment whose
// sending made the kernel deliver it: a v6 raw socket does not see the
// Fragment header, so a v6 delivery of the fragment's addresses takes its
// id (nothing else is on lo while the engine waits; the v6 queue key has no
// next header, and the datagram's is the first fragment's).
trace::Event deliver_event(std::string_view ns, const RawDelivery& d,
                           const frag::Fragment* completing) {
  frag::Fnv1a64 h;
  h.update(d.payload.data(), d.payload.size());
  std::optional<uint32_t> id = d.id;
  if (!id && completing && completing->family == d.family && completing->src == d.src &&
      completing->dst == d.dst)
    id = completing->id;
  if (id) {
    frag::Fragment head;
    head.ns = ns;
    head.family = d.family;
    head.src = d.src;
    head.dst = d.dst;
    head.proto = d.proto;
    head.id = *id;
    head.ecn = d.ecn;
    head.df = d.df;
    head.ext = d.opt;
    return frag::deliver_event(head, uint32_t(d.payload.size()), h.value());
  }
  // The same fields without the id: a v6 datagram no fragment of the
  // operation explains (the comparison then reports it).
  trace::Event e{"deliver", {}};
  e.add("ns", std::string(ns))
      .add("family", frag::family_name(d.family))
      .add("src", trace::format_addr(d.src))
      .add("dst", trace::format_addr(d.dst))
      .add("proto", uint64_t(d.proto))
      .add("len", uint64_t(d.payload.size()))
      .add("fnv1a64", trace::format_hex64(h.value()))
      .add("ecn", std::string(frag::kEcnNames[d.ecn]));
  return e;
}

// The signal that asked run() to stop (SIGINT, SIGTERM), or 0; set by the
// handler in the parent and, inherited, in the child.
volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_stops = 0;  // how many such signals came

void on_stop_signal(int sig) {
  g_stop = sig;
  g_stops = g_stops + 1;
}

// Destroys the namespaces many at once: closing a packet socket waits for an
// RCU grace period (packet_release: synchronize_net), and concurrent waiters
// share grace periods where sequential ones wait one each.
void close_all(std::vector<std::unique_ptr<Netns>> doomed) {
  constexpr size_t kThreads = 64;
  if (doomed.size() <= 1) return;  // (one closes as the vector dies)
  std::vector<std::thread> threads;
  const size_t n = std::min(kThreads, doomed.size());
  for (size_t t = 0; t < n; ++t)
    threads.emplace_back([&doomed, t, n] {
      for (size_t i = t; i < doomed.size(); i += n) doomed[i].reset();
    });
  for (std::thread& t : threads) t.join();
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
    const bool ok = run_trace(&error);
    // Close everything before reporting, so that nothing outlives the report.
    close();
    if (!ok) {
      auto status =
          error.unavailable ? KernelResult::Status::kUnavailable : KernelResult::Status::kFailed;
      write_all(out_, encode_fail(status, error.message));
      _exit(error.unavailable ? 77 : 1);
    }
    if (!write_all(out_, encode_end(end_))) _exit(1);
    _exit(0);
  }

 private:
  bool run_trace(NetnsError* error) {
    // Both the fragment and its barrier must queue on one CPU's backlog.
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(sched_getcpu(), &cpus);
    sched_setaffinity(0, sizeof(cpus), &cpus);
    // Nine descriptors a namespace: as many as the hard limit allows.
    rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }

    if (!add_netns(std::string(kInit), error)) return false;
    if (!options_.capture_path.empty()) {
      capture_ = LiveCapture::open("lo", options_.capture_path, &error->message);
      if (!capture_) return false;
    }
    for (size_t i = 0; i < trace_.ops.size(); ++i) {
      const trace::Op& op = trace_.ops[i];
      if (op.spec->expect) continue;
      if (g_stop) return fail(error, "interrupted", EINTR);
      KernelStep step;
      step.op_index = i;
      step.line = op.line;
      if (!apply(op, step, error)) {
        error->message = "line " + std::to_string(op.line) + ": " + error->message;
        return false;
      }
      if (!write_all(out_, encode_step(step))) return fail(error, "writing to the parent", errno);
    }
    trace::Snapshot snap;
    for (const auto& [name, ns] : live_)
      if (!snapshot(name, snap, error)) return false;
    for (const auto& [name, ns] : live_) end_.push_back(counters_event(name, snap));
    if (capture_ && !capture_->close(&error->message)) return false;
    return true;
  }

  // Applies the op; the step gets its events and the counters of the
  // namespaces it names (of every namespace after a tick).
  bool apply(const trace::Op& op, KernelStep& step, NetnsError* error) {
    const std::string& name = op.spec->name;
    if (name == "netns add") {
      const std::string& ns = op.name(netns::fields::kName);
      return add_netns(ns, error) && snapshot(ns, step.counters, error);
    }
    if (name == "netns del") {
      const std::string& ns = op.name(netns::fields::kName);
      trace::Snapshot snap;
      if (!snapshot(ns, snap, error)) return false;
      step.events.push_back(counters_event(ns, snap));
      // Closed with others later (close_all): the engine never looks at it
      // again, and closing one at a time costs a grace period per socket.
      doomed_.push_back(std::move(live_.at(ns)));
      live_.erase(ns);
      if (doomed_.size() >= kDoomedBatch) {
        close_all(std::move(doomed_));
        doomed_.clear();
      }
      return true;
    }
    if (name == "tick") {
      if (!sleep_ms(op.u(trace::core::kTickDuration), error)) return false;
      for (const auto& [ns, netns] : live_)
        if (!drain(ns, nullptr, step.events, error) || !snapshot(ns, step.counters, error))
          return false;
      return true;
    }
    if (name == "sysctl") {
      const std::string& ns = op.name(trace::core::kSysctlNs);
      Netns& netns = *live_.at(ns);
      if (current_ != ns) {
        if (!netns.enter(error)) return false;
        current_ = ns;
      }
      bool refused;
      if (!netns.write_sysctl(op.word_text(trace::core::kSysctlKey),
                              op.u(trace::core::kSysctlValue), &refused, error)) {
        if (!refused) return false;
        step.events.push_back(trace::sysctl_refused_event(op));
      }
      return snapshot(ns, step.counters, error);
    }
    if (name == "frag") {
      frag::Fragment f = frag::fragment_of(op);
      const std::string ns(f.ns);
      if (!live_.find(ns)->second->send(frag_frame(f), error)) return false;
      if (capture_ && !capture_->poll(&error->message)) return false;
      return drain(ns, &f, step.events, error) && snapshot(ns, step.counters, error);
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

  bool drain(const std::string& name, const frag::Fragment* completing,
             std::vector<trace::Event>& events, NetnsError* error) {
    std::vector<RawDelivery> got;
    std::vector<RawIcmp> icmp;
    if (!live_.at(name)->drain(got, icmp, error)) return false;
    for (const RawDelivery& d : got) events.push_back(deliver_event(name, d, completing));
    for (const RawIcmp& e : icmp) {
      frag::Fragment about{
          .ns = name, .family = e.family, .id = e.id, .src = e.src, .dst = e.dst, .proto = e.proto};
      events.push_back(frag::icmp_error_event(about, e.type, e.code, e.pointer));
    }
    return true;
  }

  bool snapshot(const std::string& name, trace::Snapshot& snap, NetnsError* error) {
    CounterMap values;
    if (!live_.at(name)->counters(values, error)) return false;
    auto& out = snap.ns[name];
    for (const auto& [k, v] : values) out[k] = v;
    return true;
  }

  // Sleeps for real; a signal that asks to stop ends it early, failed.
  static bool sleep_ms(uint64_t ms, NetnsError* error) {
    timespec left{time_t(ms / 1000), long(ms % 1000) * 1'000'000};
    while (nanosleep(&left, &left) != 0) {
      if (errno != EINTR || g_stop) return fail(error, "sleeping for a tick", errno);
    }
    return true;
  }

  void close() {
    capture_.reset();
    for (auto& [name, ns] : live_) doomed_.push_back(std::move(ns));
    live_.clear();
    close_all(std::move(doomed_));
    doomed_.clear();
  }

  static bool fail(NetnsError* error, const std::string& what, int err) {
    error->message = what + ": " + std::strerror(err);
    return false;
  }

  // Deleted namespaces wait for this many others before they are closed.
  static constexpr size_t kDoomedBatch = 64;

  const trace::Trace& trace_;
  const KernelOptions& options_;
  const int out_;
  const std::map<std::string, Netns::Config, std::less<>> configs_;
  std::map<std::string, std::unique_ptr<Netns>, std::less<>> live_;
  std::vector<std::unique_ptr<Netns>> doomed_;  // deleted, not closed yet
  std::vector<trace::Event> end_;
  std::string current_;  // the namespace the thread is in
  std::unique_ptr<LiveCapture> capture_;
};

// SIGINT and SIGTERM handled (by on_stop_signal) while it lives: without
// SA_RESTART, so that a blocked system call returns and the run stops.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    g_stops = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
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
    case Status::kInterrupted:
      return 128 + signal;
  }
  return 1;
}

std::string Refusal::text() const {
  return line ? "line " + std::to_string(line) + ": " + message : message;
}

std::optional<std::string> undeliverable(const trace::Addr& a, bool src) {
  const uint8_t first = a.bytes[0];
  if (a.v6) {
    if (first == 0xff) return "a multicast address";
    bool zero = true;
    for (uint8_t b : a.bytes) zero &= b == 0;
    if (zero && !src) return "the unspecified address";
    return std::nullopt;
  }
  const uint32_t v = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 |
                     uint32_t(a.bytes[2]) << 8 | a.bytes[3];
  const bool multicast = (first & 0xf0) == 224;
  if (src) {
    if (v == 0) return "the unspecified address";
    if (multicast) return "a multicast address";
    if (v == 0xffffffff) return "the limited broadcast address";
    return std::nullopt;
  }
  if (first == 0) return "an address of 0.0.0.0/8 (\"this network\")";
  if (multicast && v != 0xe0000001) return "a multicast group lo has not joined";
  if ((first & 0xf0) == 240 && v != 0xffffffff) return "a reserved address (240.0.0.0/4)";
  return std::nullopt;
}

std::optional<Refusal> refusal(const trace::Trace& trace, const KernelOptions& options) {
  uint64_t sleep_ms = 0;
  for (const trace::Op& op : trace.ops) {
    if (op.spec->name == "tick") {
      sleep_ms += op.u(trace::core::kTickDuration);
      if (sleep_ms > options.max_sleep_ms)
        return Refusal{op.line, "",
                       "the trace's ticks add up to " + trace::format_duration_ms(sleep_ms) +
                           ", more than the kernel engine may sleep (" +
                           trace::format_duration_ms(options.max_sleep_ms) +
                           "; it sleeps for real: raise the bound with --max-sleep)"};
    }
    if (op.spec->name == "sysctl" && op.word_text(trace::core::kSysctlKey).ends_with("frag_time") &&
        op.u(trace::core::kSysctlValue) == 0)
      return Refusal{op.line, "",
                     "a reassembly timeout of 0 expires a queue at the kernel's next jiffy, "
                     "between operations the trace runs at one instant: the kernel engine cannot "
                     "reproduce the model's clock there"};
    if (op.spec->name == "policy frag" && frag::policy_of(op) == frag::Policy::kEvict)
      return Refusal{op.line, "",
                     "the running kernel refuses fragments above high_thresh (since Linux "
                     "4.17): the eviction policy is the model's and --design frag=global's only"};
    if (op.spec->name != "frag") continue;
    const frag::Fragment f = frag::fragment_of(op);
    if (f.proto == 0)
      return Refusal{op.line, "proto",
                     "the kernel engine cannot receive protocol 0 (no raw socket binds to it)"};
    if (f.family == frag::Family::kV6 && f.proto == 58)
      return Refusal{op.line, "proto",
                     "the kernel engine cannot observe ICMPv6 deliveries (a raw ICMPv6 socket "
                     "drops datagrams whose checksum is wrong, and the kernel answers the "
                     "others)"};
    for (const bool src : {true, false}) {
      const trace::Addr& addr = src ? f.src : f.dst;
      if (auto why = undeliverable(addr, src))
        return Refusal{op.line, src ? "src" : "dst",
                       std::string(src ? "source " : "destination ") + trace::format_addr(addr) +
                           " is " + *why +
                           ": the kernel never delivers such a datagram received on lo, so the "
                           "kernel engine cannot observe it"};
    }
  }
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
    result.message = why->text();
    return result;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.status = KernelResult::Status::kFailed;
    result.message = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  StopSignals stop;
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
  // The records as they come: complete ones decoded (and shown to
  // on_step), a partial one kept for the next read.
  std::string pending;
  sig_atomic_t forwarded = 0;
  char buf[1 << 16];
  for (;;) {
    if (g_stops > forwarded) {
      // The first: the child stops, closes its namespaces and ends the
      // stream. A second: it is killed (its exit closes them, one by one).
      kill(pid, forwarded ? SIGKILL : SIGTERM);
      forwarded = g_stops;
    }
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, size_t(n));
    const size_t steps = result.steps.size();
    pending.erase(0, decode_records(pending, &result));
    if (options.on_step)
      for (size_t i = steps; i < result.steps.size(); ++i) options.on_step(result.steps[i]);
  }
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (g_stop) {
    result.status = KernelResult::Status::kInterrupted;
    result.signal = g_stop;
    result.message = std::string("interrupted by SIG") + sigabbrev_np(g_stop);
    return result;
  }
  const bool decoded = pending.empty();
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
