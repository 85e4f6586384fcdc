// DeliverSink: what the reassembly engine's fast API reports to its caller.
//
// FragImpl::receive and FragImpl::tick call the sink synchronously, in the
// order the trace's events would appear (docs/trace.md): deliver for a
// datagram handed up, drop for a fragment discarded on its own, kill for a
// datagram discarded with every fragment queued for it, icmp for an ICMP
// error reassembly sends (after the drop or kill it comes with; the bytes
// it is about stay alive until it returns). Only deliver is
// required; benchmarks usually just count bytes. The sink runs under the
// engine's locks (a namespace family's table lock): it must not call back
// into the engine.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "trace/frag/frag_ops.h"

namespace nv::frag {

class DeliverSink {
 public:
  virtual ~DeliverSink() = default;

  // `head` is the fragment that completed the datagram, with the protocol of
  // the fragment at offset 0; `bytes` (the reassembled payload, or a whole
  // non-fragmented packet) is valid only during the call; `truesize` is the
  // delivered skb's (frag::Reasm).
  virtual void deliver(const Fragment& head, std::span<const uint8_t> bytes, uint64_t truesize) = 0;
  virtual void drop(const Fragment& /*f*/, std::string_view /*reason*/) {}
  virtual void kill(std::string_view /*ns*/, Family /*family*/, uint32_t /*id*/,
                    std::string_view /*reason*/) {}
  // The ICMP error reassembly asks the ICMP layer to send about `about`
  // (icmp_event decides whether it goes out).
  virtual void icmp(const Fragment& /*about*/, IcmpError /*error*/,
                    std::span<const uint8_t> /*payload*/) {}
  // Where the trace path's other events go (the defer engine's, when a
  // reassembled datagram's fragments are freed through it); null: the fast
  // API, whose engine frees them at once.
  virtual std::vector<trace::Event>* events() { return nullptr; }
};

}  // namespace nv::frag
