// Skb: one queued fragment's buffer, the engine's stand-in for the kernel's
// sk_buff with its FRAG_CB (ipfrag_skb_cb): where the fragment sits in the
// datagram, how much memory it is charged, and its links in the run tree.
//
// A queued Skb never copies its payload: `data` points at the bytes, which
// belong either to the skb itself (`owned`, the trace path) or to the caller
// of FragImpl::receive (the fast path; see frag_impl.h for how long they must
// stay alive). Skbs come from an ObjectPool, so queuing allocates nothing in
// the steady state.
#pragma once

#include <boost/intrusive/set_hook.hpp>
#include <cstdint>
#include <memory>

namespace nv::frag {

struct Skb {
  using RunHook =
      boost::intrusive::set_member_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>,
                                        boost::intrusive::optimize_size<true>>;

  RunHook run_hook;          // linked iff this skb heads a run (kernel: skb->rbnode)
  Skb* next_frag = nullptr;  // next skb of the same run (kernel: FRAG_CB(skb)->next_frag)
  uint32_t off = 0;          // offset in the datagram's fragmentable part
  uint32_t len = 0;          // bytes queued, after trimming; > 0
  uint32_t run_end = 0;      // run heads only: end of the run (kernel: frag_run_len + off)
  uint32_t truesize = 0;     // charged as received, before trimming
  uint8_t proto = 0;         // v4 protocol or v6 Fragment header next header
  uint8_t cpu = 0;           // the CPU it was received (allocated) on: skb->alloc_cpu
  uint8_t ecn = 0;           // the ECN codepoint of its IP header
  bool df = false;           // v4: its header's Don't Fragment flag
  uint8_t ext = 0;           // v4 its options, v6 its extension headers (Fragment::ext)
  const uint8_t* data = nullptr;
  std::unique_ptr<uint8_t[]> owned;  // the payload, when the engine owns it

  uint32_t end() const { return off + len; }
};

}  // namespace nv::frag
