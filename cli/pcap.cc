// netverify pcap-import and pcap-export: between traces and captures, so a
// fragment sequence seen on a real network becomes a trace, and a trace can
// be replayed at a real machine (tcpreplay, Scapy).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/output_file.h"
#include "cli/trace_file.h"
#include "kernel/pcap_file.h"
#include "kernel/wire.h"
#include "runner/subsystem.h"
#include "trace/frag/frag_ops.h"
#include "trace/parser.h"
#include "trace/printer.h"
#include "trace/registry.h"

namespace nv::cli {
namespace {

// Reads a capture within --max-bytes (read_input refuses directories and
// devices) and hands libpcap the bytes through an in-memory file, so that
// a pipe is read once and a capture that never ends is cut off.
bool read_capture(const std::string& path, uint64_t max_bytes, int* link,
                  std::vector<kernel::PcapPacket>* packets, std::string* error) {
  auto bytes = read_input(path, max_bytes, 0, error);
  if (!bytes) return false;
  const int fd = memfd_create("netverify-pcap", MFD_CLOEXEC);
  if (fd < 0 || write(fd, bytes->data(), bytes->size()) != ssize_t(bytes->size())) {
    *error = path + ": cannot buffer the capture in memory";
    if (fd >= 0) close(fd);
    return false;
  }
  const bool ok = kernel::read_pcap("/proc/self/fd/" + std::to_string(fd), link, packets, error);
  close(fd);
  if (!ok) {
    // libpcap names the memory file; the user named `path`.
    if (size_t colon = error->find(": "); error->starts_with("/proc/self/fd/"))
      *error = path + error->substr(colon);
    else
      *error = path + ": " + *error;
  }
  return ok;
}

int run_import(const Args& args) {
  const std::string& path = args.positional[0];
  const std::string ns = args.get("--ns", "init");
  const bool whole = args.has("--whole");
  int link = 0;
  std::vector<kernel::PcapPacket> packets;
  std::string error;
  if (!read_capture(path, args.input_limits().max_bytes, &link, &packets, &error)) {
    std::fprintf(stderr, "netverify pcap-import: %s\n", error.c_str());
    return kExitUsage;
  }
  std::string text = std::string(trace::kTraceHeader) + "\n";
  if (ns != "init") text += "netns add " + ns + "\n";
  std::map<std::string, size_t> skipped;
  size_t frags = 0;
  uint64_t t0 = 0, last_ms = 0;
  size_t frame = 0;
  for (const kernel::PcapPacket& p : packets) {
    ++frame;
    auto l3 = kernel::network_layer(link, p.bytes);
    if (!l3) {
      ++skipped[link == kernel::kLinkEthernet || link == kernel::kLinkLinuxSll ||
                        link == kernel::kLinkLinuxSll2 || link == kernel::kLinkRaw ||
                        link == kernel::kLinkIpv4 || link == kernel::kLinkIpv6
                    ? "not IP"
                    : "unsupported link type " + std::to_string(link)];
      continue;
    }
    std::string why;
    auto w = kernel::parse_packet(l3->data(), l3->size(), &why);
    if (!w) {
      ++skipped[why];
      continue;
    }
    if (!w->is_fragment() && !whole) {
      ++skipped["IPv4 not fragmented"];
      continue;
    }
    if (frags++ == 0) t0 = p.ts_us;
    const uint64_t ms = p.ts_us > t0 ? (p.ts_us - t0) / 1000 : 0;
    if (ms > last_ms) {
      // A clock that jumps by years (a corrupt or hand-made capture) makes
      // a tick no trace can hold.
      std::string why;
      if (!trace::parse_duration_ms(trace::format_duration_ms(ms - last_ms), &why)) {
        std::fprintf(stderr,
                     "netverify pcap-import: %s: frame %zu: the clock jumps by %llu ms, more "
                     "than a trace's tick can hold (%s)\n",
                     path.c_str(), frame, (unsigned long long)(ms - last_ms), why.c_str());
        return kExitUsage;
      }
      text += "tick " + trace::format_duration_ms(ms - last_ms) + "\n";
      last_ms = ms;
    }
    text += kernel::frag_line(*w, ns) + "\n";
  }
  trace::ParseResult parsed = trace::parse(text, runner::registry());
  if (parsed.error) {
    // What the capture holds does not make a valid trace: bad input.
    std::fprintf(stderr, "netverify pcap-import: %s: the capture makes no valid trace: %s\n",
                 path.c_str(), trace::format_diagnostic("<imported trace>", *parsed.error).c_str());
    return kExitUsage;
  }
  std::printf("# netverify pcap-import %s: %zu frames, %zu fragments\n", path.c_str(),
              packets.size(), frags);
  for (const auto& [why, n] : skipped) std::printf("# skipped %zu: %s\n", n, why.c_str());
  std::fputs(trace::print(parsed.trace).c_str(), stdout);
  return kExitOk;
}

int run_export(const Args& args) {
  const std::string& path = args.positional[0];
  const std::string out = args.get("-o", "");
  const bool ether = args.get("--link", "ether") == "ether";
  std::string error;
  // "-o -": standard output, opened anew as /dev/stdout (libpcap closes
  // the stream it writes, and the check of its writes covers it).
  std::optional<OutputFile> file;
  if (out != "-") {
    int status;
    file = OutputFile::create(out, &error, &status);
    if (!file) {
      std::fprintf(stderr, "netverify pcap-export: -o %s\n", error.c_str());
      return status;
    }
  }
  auto trace = load_trace(path, args.input_limits());
  if (!trace) return kExitUsage;
  auto writer = kernel::PcapWriter::open(file ? file->write_path() : "/dev/stdout",
                                         ether ? kernel::kLinkEthernet : kernel::kLinkRaw, &error);
  if (!writer) {
    std::fprintf(stderr, "netverify pcap-export: %s\n", error.c_str());
    return kExitEnvironment;
  }
  uint64_t now_ms = 0;
  size_t packets = 0;
  std::set<std::string> namespaces;
  for (const trace::Op& op : trace->ops) {
    if (op.spec->name == "tick") now_ms += op.u(trace::core::kTickDuration);
    if (op.spec->name != "frag") continue;
    frag::Fragment f = frag::fragment_of(op);
    namespaces.emplace(f.ns);
    std::vector<uint8_t> bytes = ether ? kernel::frag_frame(f) : kernel::frag_packet(f);
    writer->write(bytes, now_ms * 1000);
    ++packets;
  }
  if (!writer->close(&error) || (file && !file->commit(&error))) {
    std::fprintf(stderr, "netverify pcap-export: %s: %s\n", out.c_str(), error.c_str());
    return kExitEnvironment;
  }
  if (namespaces.size() > 1)
    std::fprintf(stderr,
                 "netverify pcap-export: note: fragments of %zu namespaces are in one capture "
                 "(a capture does not record namespaces)\n",
                 namespaces.size());
  // The summary goes where it cannot mix with a capture on stdout.
  std::fprintf(file ? stdout : stderr, "wrote %zu packets over %s to %s\n", packets,
               trace::format_duration_ms(now_ms).c_str(), file ? out.c_str() : "standard output");
  return kExitOk;
}

}  // namespace

const Command& pcap_import_command() {
  static const Command kCommand{
      .name = "pcap-import",
      .summary = "print the fragments of a capture as a trace",
      .operands = "FILE.pcap",
      .help =
          "Prints a trace of the IPv4 and IPv6 fragments in a capture (Ethernet, raw IP\n"
          "or Linux cooked): one 'frag' line per fragment with its bytes as data=hex:,\n"
          "and a 'tick' wherever the capture's clock advanced by a millisecond or more.\n"
          "Skipped frames (not IP, IPv4 options, IPv6 extension headers before the\n"
          "Fragment header, truncated) are counted in comments.",
      .flags = {{.name = "--ns",
                 .value = "NAME",
                 .help = "namespace of the fragments (default init)",
                 .type = FlagType::kNamespace},
                {.name = "--whole",
                 .value = "",
                 .help = "also import IPv4 packets that are not fragments",
                 .type = FlagType::kSwitch},
                kInputLimitFlags[0]},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_import};
  return kCommand;
}

const Command& pcap_export_command() {
  static const Command kCommand{
      .name = "pcap-export",
      .summary = "write the packets of a trace to a capture",
      .operands = "TRACE",
      .help =
          "Writes the packets of TRACE's 'frag' lines, as the kernel engine sends them,\n"
          "to a capture; ticks advance its timestamps (from the epoch). Replay it at a\n"
          "machine with tcpreplay or Scapy. Namespaces are not recorded.",
      .flags = reads_input({{.name = "-o",
                             .value = "FILE.pcap",
                             .help = "the capture to write, atomically (-: stdout)",
                             .type = FlagType::kOutputPath,
                             .required = true},
                            {.name = "--link",
                             .value = "ether|raw",
                             .help = "ether (zero MAC addresses, as on lo; default) or raw IP",
                             .type = FlagType::kChoice}}),
      .min_positional = 1,
      .max_positional = 1,
      .run = run_export};
  return kCommand;
}

}  // namespace nv::cli
