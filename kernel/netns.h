// Netns: one network namespace of the running kernel as the kernel engine
// drives it: created fresh (unshare(CLONE_NEWNET)), its loopback device up,
// fragments sent into it as Ethernet frames on lo, reassembled datagrams
// received on raw sockets, its sysctls written and its counters read.
//
// Everything a Netns holds is a file descriptor (the namespace itself via
// /proc/self/ns/net, sockets, /proc files); destroying it closes them, and
// the kernel frees the namespace with its last reference. The kernel engine
// only ever creates Netns values in a forked child, so the host's namespace
// is never touched and the child's exit releases everything.
//
// How packets get in (measured on Linux 6.18): an AF_PACKET socket bound to
// lo sends the frame; loopback_xmit hands it to netif_rx, so it is received
// on lo exactly like a packet from a wire. IPv4 from 127.0.0.1 to itself
// arriving that way is a martian unless route_localnet and accept_local are
// set, which create() does (and an IPPROTO_RAW socket would rewrite id 0).
// lo's MTU is raised so that the largest v6 fragment (40 + 65535 bytes) fits.
//
// When a packet has been handled: the frame is followed by a barrier frame
// of a private ethertype, and the engine waits until an AF_PACKET socket
// bound to that ethertype sees it. Both frames sit in the same CPU's
// backlog (the engine pins itself to one CPU), which is processed in order,
// and reassembly and raw-socket delivery run synchronously in that
// processing; so when the barrier arrives, every delivery the fragment
// caused is queued on the raw sockets and every counter is updated. An ICMP
// error the fragment caused (a v6 Parameter Problem) is itself a packet on
// lo that joins the backlog while the fragment is handled, so possibly
// behind the barrier: a second barrier, sent once the first is back, comes
// after it.
//
// ICMP errors: every source and destination of the trace is on lo (the
// error goes back to the source, and is sent only where there is a route to
// it), raw ICMP and ICMPv6 sockets catch what the kernel sends, and ICMP
// rate limiting is off (icmp_ratemask 0, the ICMPv6 ratemask empty), so
// every error reassembly sends is seen. Expiry sends its errors from the
// queue's timer, during a tick's sleep.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/snmp.h"
#include "trace/frag/frag_ops.h"
#include "trace/value.h"

namespace nv::kernel {

// Why a Netns operation failed: unavailable (no privilege: EPERM, EACCES)
// or any other error.
struct NetnsError {
  bool unavailable = false;
  std::string message;
};

// A datagram read from a raw socket.
struct RawDelivery {
  frag::Family family = frag::Family::kV4;
  trace::Addr src, dst;
  uint8_t proto = 0;
  uint8_t ecn = 0;             // the delivered header's ECN codepoint
  bool df = false;             // v4: the delivered header's Don't Fragment flag
  uint8_t opt = 0;             // v4: the delivered header's options (kOptNames)
  std::optional<uint32_t> id;  // v4 only: v6 raw sockets do not see the header
  std::vector<uint8_t> payload;
};

// An ICMP error the kernel sent (its TTL or hop limit is not kWireTtl) of
// a kind reassembly sends (v4 Time Exceeded 11/1 and Parameter Problem
// 12/0, for its options; v6 Time Exceeded 3/1 and Parameter Problem 4),
// with the header of the packet it is about.
struct RawIcmp {
  frag::Family family = frag::Family::kV4;
  uint8_t type = 0, code = 0;
  std::optional<uint32_t> pointer;  // Parameter Problem
  trace::Addr src, dst;             // the packet's it is about
  uint8_t proto = 0;                // v4 protocol, v6 Fragment header's next header
  uint32_t id = 0;
};

class Netns {
 public:
  struct Config {
    // (family, protocol) pairs to open raw receive sockets for.
    std::vector<std::pair<frag::Family, uint8_t>> listen;
    // Addresses to add to lo (those not already local).
    std::vector<trace::Addr> addresses;
  };

  // Creates a namespace, moves the calling thread into it and sets it up.
  // The thread stays in it.
  static std::unique_ptr<Netns> create(const Config& config, NetnsError* error);

  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns();

  // Moves the calling thread into this namespace (setns).
  bool enter(NetnsError* error) const;

  // Writes "ipv4.ipfrag_time" style keys to /proc/sys/net/...; the caller
  // must have entered the namespace. Returns false with *refused set when the
  // kernel refused the value (EINVAL), false with *error on other failures.
  bool write_sysctl(const std::string& key, uint64_t value, bool* refused, NetnsError* error);

  // Sends the frame on lo and waits until the kernel has handled it (a
  // signal caught while waiting fails it).
  bool send(const std::vector<uint8_t>& frame, NetnsError* error);
  // Reads every datagram the raw sockets hold now, except those the kernel
  // sent itself (ICMP errors and replies: TTL or hop limit not kWireTtl),
  // and the ICMP errors of reassembly's kinds the kernel sent (`icmp`).
  // Not reentrant (one receive buffer for all namespaces).
  bool drain(std::vector<RawDelivery>& out, std::vector<RawIcmp>& icmp, NetnsError* error);
  // The counters since create().
  bool counters(CounterMap& out, NetnsError* error) const;

 private:
  Netns() = default;
  bool setup(const Config& config, NetnsError* error);
  bool barrier(NetnsError* error);

  int ns_fd_ = -1;
  int lo_index_ = 0;
  int tx_fd_ = -1;       // AF_PACKET, sends frames on lo
  int barrier_fd_ = -1;  // AF_PACKET bound to kBarrierEthertype on lo
  uint64_t barrier_seq_ = 0;
  struct Listener {
    frag::Family family;
    uint8_t proto;
    int fd;
  };
  std::vector<Listener> listeners_;
  int icmp_fd_[2] = {-1, -1};  // raw ICMP and ICMPv6 sockets, by Family
  ProcCounters proc_;
  CounterMap baseline_;
};

}  // namespace nv::kernel
