// The reassembly counters of a network namespace as the kernel shows them in
// /proc/net/snmp ("Ip:" ReasmReqds ...), /proc/net/netstat ("IpExt:"
// ReasmOverlaps) and /proc/net/snmp6 (Ip6ReasmReqds ...), named as nstat
// names them: the table's prefix glued to the column ("IpReasmReqds").
//
// ProcCounters opens the three files once, in the namespace current at that
// moment (procfs binds /proc/self/net/* to the opener's namespace), and can
// re-read them from anywhere afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "trace/frag/frag_ops.h"

namespace nv::kernel {

// The counters the kernel engine reports, in the order of the JSON
// "counters" event (the trace registry's counter vocabulary).
inline constexpr const auto& kFragCounters = frag::kCounters;

using CounterMap = std::map<std::string, uint64_t, std::less<>>;

// "Ip: A B\nIp: 1 2\n" -> {IpA: 1, IpB: 2}; pairs of lines with the same prefix.
void parse_snmp_table(std::string_view text, CounterMap& out);
// "Ip6ReasmOKs   3\n" lines -> {Ip6ReasmOKs: 3}.
void parse_snmp6(std::string_view text, CounterMap& out);

class ProcCounters {
 public:
  ProcCounters() = default;
  ProcCounters(const ProcCounters&) = delete;
  ProcCounters& operator=(const ProcCounters&) = delete;
  ~ProcCounters();

  // Opens the files in the current network namespace.
  bool open(std::string* error);
  // The kFragCounters values now (absent ones are 0).
  bool read(CounterMap& out, std::string* error) const;

 private:
  std::array<int, 3> fds_ = {-1, -1, -1};  // snmp, netstat, snmp6
};

}  // namespace nv::kernel
