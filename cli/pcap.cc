// netverify pcap-import and pcap-export: between traces and captures, so a
// fragment sequence seen on a real network becomes a trace, and a trace can
// be replayed at a real machine (tcpreplay, Scapy).
#include <cstdio>
#include <map>
#include <set>

#include "cli/flags.h"
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

int run_import(const Args& args) {
  const std::string& path = args.positional[0];
  const std::string ns = args.get("--ns", "init");
  if (!trace::valid_name(ns)) {
    std::fprintf(stderr, "netverify pcap-import: bad namespace name '%s'\n", ns.c_str());
    return 2;
  }
  const bool whole = args.has("--whole");
  int link = 0;
  std::vector<kernel::PcapPacket> packets;
  std::string error;
  if (!kernel::read_pcap(path, &link, &packets, &error)) {
    std::fprintf(stderr, "netverify pcap-import: %s\n", error.c_str());
    return 2;
  }
  std::string text = std::string(trace::kTraceHeader) + "\n";
  if (ns != "init") text += "netns add " + ns + "\n";
  std::map<std::string, size_t> skipped;
  size_t frags = 0;
  uint64_t t0 = 0, last_ms = 0;
  for (const kernel::PcapPacket& p : packets) {
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
      text += "tick " + trace::format_duration_ms(ms - last_ms) + "\n";
      last_ms = ms;
    }
    text += kernel::frag_line(*w, ns) + "\n";
  }
  trace::ParseResult parsed = trace::parse(text, runner::registry());
  if (parsed.error) {
    std::fprintf(stderr, "netverify pcap-import: internal error: %s\n",
                 trace::format_diagnostic("<import>", *parsed.error).c_str());
    return 1;
  }
  std::printf("# netverify pcap-import %s: %zu frames, %zu fragments\n", path.c_str(),
              packets.size(), frags);
  for (const auto& [why, n] : skipped) std::printf("# skipped %zu: %s\n", n, why.c_str());
  std::fputs(trace::print(parsed.trace).c_str(), stdout);
  return 0;
}

int run_export(const Args& args) {
  const std::string& path = args.positional[0];
  const std::string out = args.get("-o", "");
  const std::string link_name = args.get("--link", "ether");
  if (out.empty()) {
    std::fprintf(stderr, "netverify pcap-export: -o FILE.pcap is required\n");
    return 2;
  }
  if (link_name != "ether" && link_name != "raw") {
    std::fprintf(stderr, "netverify pcap-export: --link must be ether or raw\n");
    return 2;
  }
  const bool ether = link_name == "ether";
  auto trace = load_trace(path);
  if (!trace) return 2;
  std::string error;
  auto writer =
      kernel::PcapWriter::open(out, ether ? kernel::kLinkEthernet : kernel::kLinkRaw, &error);
  if (!writer) {
    std::fprintf(stderr, "netverify pcap-export: %s\n", error.c_str());
    return 1;
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
  if (!writer->close(&error)) {
    std::fprintf(stderr, "netverify pcap-export: %s: %s\n", out.c_str(), error.c_str());
    return 1;
  }
  if (namespaces.size() > 1)
    std::fprintf(stderr,
                 "netverify pcap-export: note: fragments of %zu namespaces are in one capture "
                 "(a capture does not record namespaces)\n",
                 namespaces.size());
  std::printf("wrote %zu packets over %s to %s\n", packets,
              trace::format_duration_ms(now_ms).c_str(), out.c_str());
  return 0;
}

}  // namespace

const Command& pcap_import_command() {
  static const Command kCommand{
      .name = "pcap-import",
      .usage = "pcap-import FILE.pcap [--ns NAME] [--whole]",
      .help =
          "Prints a trace of the IPv4 and IPv6 fragments in a capture (Ethernet, raw IP\n"
          "or Linux cooked): one 'frag' line per fragment with its bytes as data=hex:,\n"
          "and a 'tick' wherever the capture's clock advanced by a millisecond or more.\n"
          "Skipped frames (not IP, IPv4 options, IPv6 extension headers before the\n"
          "Fragment header, truncated) are counted in comments.",
      .flags = {{"--ns", "NAME", "namespace of the fragments (default init)"},
                {"--whole", "", "also import IPv4 packets that are not fragments"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_import};
  return kCommand;
}

const Command& pcap_export_command() {
  static const Command kCommand{
      .name = "pcap-export",
      .usage = "pcap-export TRACE -o FILE.pcap [--link ether|raw]",
      .help =
          "Writes the packets of TRACE's 'frag' lines, as the kernel engine sends them,\n"
          "to a capture; ticks advance its timestamps (from the epoch). Replay it at a\n"
          "machine with tcpreplay or Scapy. Namespaces are not recorded.",
      .flags = {{"-o", "FILE", "the capture to write"},
                {"--link", "LINK", "ether (zero MAC addresses, as on lo; default) or raw IP"}},
      .min_positional = 1,
      .max_positional = 1,
      .run = run_export};
  return kCommand;
}

}  // namespace nv::cli
