// rapidcheck generators of fragment traces, shared by the property tests
// and `netverify gen`.
//
// A trace is generated as a list of Steps. The generator builds real
// datagrams, fragments them at random sizes, perturbs each fragment list
// (reorder, duplicate, overlap with agreeing and with differing data, drop,
// truncate, oversize), interleaves the datagrams of several ids, families
// and namespaces, and sprinkles sysctl writes, clock ticks and namespace
// deletions; a v4 datagram has DF on none, some or all of its fragments.
// Some traces select the eviction policy of the global table ("policy frag
// evict", first), some the list design's reassembly ("policy frag-reasm
// list", first), and some lower every namespace's memory
// thresholds at the start so that the limit (refusal or eviction) is met
// often. In some traces short runs of steps are started with "go": they
// race on threads of their own (fragments of one datagram or of several, a
// tick expiring queues, a sysctl, a namespace's teardown). render() turns Steps into a valid trace,
// dropping any step that names a namespace not alive at that point, so every shrink of the list is
// still a valid trace.
//
// Differing data only ever comes from fragments that cross exactly one
// fragment boundary of their datagram, strictly inside both neighbours, so a
// correct reassembler never delivers a fill byte (frag_properties_test.cc).
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nv::gen {

struct Step {
  enum class Kind : uint8_t {
    kFrag,
    kTick,
    kSysctl,
    kNetnsAdd,
    kNetnsDel,
    kPolicyEvict,
    kReasmList
  };
  Kind kind = Kind::kFrag;
  std::string ns = "init";
  bool v6 = false;
  uint32_t datagram = 0;  // which generated datagram a fragment belongs to
  uint32_t id = 0, off = 0, len = 0;
  bool mf = false;
  uint32_t proto = 253;
  uint32_t src = 0;    // index into a small set of source addresses
  int peers = -1;      // kernel: index into kKernelPeers (src and dst), -1: none
  int fill = -1;       // -1: pattern data; otherwise the fill byte
  uint8_t ecn = 0;     // the ECN codepoint (frag::kEcnNames)
  bool df = false;     // v4: Don't Fragment
  uint8_t ext = 0;     // v4 options, v6 extension headers (frag::Fragment::ext)
  std::string key;     // sysctl key
  uint64_t value = 0;  // sysctl value; tick milliseconds
  bool go = false;     // started on a thread of its own ("go")
};

struct FragGenOptions {
  bool perturb = true;  // false: clean datagrams only (no dups, overlaps, drops)
  bool extras = true;   // ticks, sysctls, namespaces
  // Only traces the kernel engine runs and observes, with timing it
  // reproduces (`netverify kernel-fuzz`): no eviction policy, list design
  // or races; no ICMPv6 payload in v6; ticks of 600 ms, at most four
  // (kKernelTick), and reassembly timeouts of whole seconds, so that no
  // expiry falls within 200 ms of a tick's end or of a fragment. Half the
  // datagrams take their addresses from kKernelPeers: other local sources,
  // broadcast and multicast destinations the kernel delivers on lo, which
  // the ICMP layer's rules tell apart.
  bool kernel = false;
};

// (src, dst) pairs of kernel traces, v4 then v6 (each deliverable on lo:
// kernel::undeliverable).
inline constexpr const char* kKernelPeers[2][6][2] = {{{"10.1.2.3", "127.0.0.1"},
                                                       {"192.0.2.7", "192.0.2.8"},
                                                       {"127.0.0.1", "127.255.255.255"},
                                                       {"127.0.0.1", "255.255.255.255"},
                                                       {"127.0.0.1", "224.0.0.1"},
                                                       {"198.51.100.1", "10.9.9.9"}},
                                                      {{"2001:db8::1", "::1"},
                                                       {"fe80::1", "fe80::2"},
                                                       {"::1", "2001:db8::5"},
                                                       {"::", "::1"},
                                                       {"fe80::7", "::1"},
                                                       {"2001:db8:1::1", "2001:db8:2::2"}}};

inline constexpr uint64_t kKernelTickMs = 600;
inline constexpr int kKernelTicks = 4;

rc::Gen<std::vector<Step>> frag_steps(FragGenOptions options = {});

// The fragment-cache flood of the 2021 denial of service, under one policy
// ("evict": the global table's; otherwise today's): `flood` first fragments
// of distinct datagrams in namespace init, family v6 or v4, filling the
// memory past high_thresh (ipfrag_low_thresh/high_thresh set to `low` and
// `high` first, unless both are 0: the defaults), then one datagram of two
// fragments, `later`, and the expectations that tell the policies apart:
// refused, `later` is not delivered until the flood times out
// (ipfrag_time, 30 s v4, 60 s v6) and then is; evicting, it is delivered
// at once, and the flood's oldest queues were evicted.
struct Flood {
  bool evict = false;
  bool v6 = false;
  uint32_t flood = 0;
  uint32_t len = 0;  // of each first fragment
  uint64_t low = 0, high = 0;
};
rc::Gen<Flood> flood(bool evict);
// What one flood queue is charged: the queue and its first fragment's skb.
uint64_t flood_queue_cost(const Flood& f);
std::string render_flood(const Flood& f);

// Canonical trace text of the steps (see the header comment).
std::string render(const std::vector<Step>& steps);

}  // namespace nv::gen
