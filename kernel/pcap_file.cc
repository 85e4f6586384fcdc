#include "kernel/pcap_file.h"

#include <pcap/pcap.h>

#include <cstdio>

namespace nv::kernel {
namespace {

static_assert(kLinkEthernet == DLT_EN10MB && kLinkRaw == DLT_RAW &&
              kLinkLinuxSll == DLT_LINUX_SLL && kLinkIpv4 == DLT_IPV4 && kLinkIpv6 == DLT_IPV6 &&
              kLinkLinuxSll2 == DLT_LINUX_SLL2);

uint32_t get16(const uint8_t* p) {
  return uint32_t(p[0]) << 8 | p[1];
}

// The frame's payload when the ethertype is IPv4 or IPv6.
std::optional<std::span<const uint8_t>> ip_by_ethertype(uint32_t type,
                                                        std::span<const uint8_t> rest) {
  if (type != 0x0800 && type != 0x86dd) return std::nullopt;
  return rest;
}

}  // namespace

struct PcapWriter::Handles {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  ~Handles() {
    if (dumper) pcap_dump_close(dumper);
    if (dead) pcap_close(dead);
  }
};

PcapWriter::PcapWriter(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
PcapWriter::~PcapWriter() = default;

std::unique_ptr<PcapWriter> PcapWriter::open(const std::string& path, LinkType link,
                                             std::string* error) {
  auto h = std::make_unique<Handles>();
  h->dead = pcap_open_dead_with_tstamp_precision(link, kSnapLen, PCAP_TSTAMP_PRECISION_MICRO);
  if (!h->dead) {
    *error = "pcap_open_dead failed";
    return nullptr;
  }
  h->dumper = pcap_dump_open(h->dead, path.c_str());
  if (!h->dumper) {
    *error = path + ": " + pcap_geterr(h->dead);
    return nullptr;
  }
  return std::unique_ptr<PcapWriter>(new PcapWriter(std::move(h)));
}

void PcapWriter::write(std::span<const uint8_t> frame, uint64_t ts_us) {
  pcap_pkthdr hdr{};
  hdr.ts.tv_sec = time_t(ts_us / 1'000'000);
  hdr.ts.tv_usec = suseconds_t(ts_us % 1'000'000);
  hdr.caplen = hdr.len = uint32_t(frame.size());
  pcap_dump(reinterpret_cast<u_char*>(h_->dumper), &hdr, frame.data());
}

bool PcapWriter::close(std::string* error) {
  bool ok = pcap_dump_flush(h_->dumper) == 0 && !std::ferror(pcap_dump_file(h_->dumper));
  h_.reset();
  if (!ok) *error = "writing the capture failed";
  return ok;
}

bool read_pcap(const std::string& path, int* link, std::vector<PcapPacket>* out,
               std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (!p) {
    *error = errbuf;
    return false;
  }
  *link = pcap_datalink(p);
  pcap_pkthdr* hdr;
  const u_char* data;
  int r;
  while ((r = pcap_next_ex(p, &hdr, &data)) == 1) {
    PcapPacket pkt;
    pkt.ts_us = uint64_t(hdr->ts.tv_sec) * 1'000'000 + uint64_t(hdr->ts.tv_usec);
    pkt.wire_len = hdr->len;
    pkt.bytes.assign(data, data + hdr->caplen);
    out->push_back(std::move(pkt));
  }
  if (r == PCAP_ERROR) *error = path + ": " + pcap_geterr(p);
  pcap_close(p);
  return r != PCAP_ERROR;
}

std::optional<std::span<const uint8_t>> network_layer(int link, std::span<const uint8_t> f) {
  switch (link) {
    case kLinkEthernet: {
      if (f.size() < 14) return std::nullopt;
      size_t off = 12;
      uint32_t type = get16(&f[off]);
      // 802.1Q and 802.1ad tags, possibly stacked.
      while ((type == 0x8100 || type == 0x88a8) && f.size() >= off + 6) {
        off += 4;
        type = get16(&f[off]);
      }
      return ip_by_ethertype(type, f.subspan(off + 2));
    }
    case kLinkRaw:
    case kLinkIpv4:
    case kLinkIpv6:
      return f;
    case kLinkLinuxSll:
      if (f.size() < 16) return std::nullopt;
      return ip_by_ethertype(get16(&f[14]), f.subspan(16));
    case kLinkLinuxSll2:
      if (f.size() < 20) return std::nullopt;
      return ip_by_ethertype(get16(&f[0]), f.subspan(20));
    default:
      return std::nullopt;
  }
}

struct LiveCapture::Handles {
  pcap_t* live = nullptr;
  pcap_dumper_t* dumper = nullptr;
  ~Handles() {
    if (dumper) pcap_dump_close(dumper);
    if (live) pcap_close(live);
  }
};

LiveCapture::LiveCapture(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
LiveCapture::~LiveCapture() = default;

std::unique_ptr<LiveCapture> LiveCapture::open(const std::string& device, const std::string& path,
                                               std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  auto h = std::make_unique<Handles>();
  h->live = pcap_create(device.c_str(), errbuf);
  if (!h->live) {
    *error = errbuf;
    return nullptr;
  }
  if (pcap_set_snaplen(h->live, kSnapLen) != 0 || pcap_set_immediate_mode(h->live, 1) != 0 ||
      pcap_set_buffer_size(h->live, 32 << 20) != 0 || pcap_activate(h->live) < 0 ||
      pcap_setdirection(h->live, PCAP_D_IN) != 0 || pcap_setnonblock(h->live, 1, errbuf) != 0) {
    *error = "capturing on " + device + ": " + pcap_geterr(h->live);
    return nullptr;
  }
  // IP only: not the kernel engine's barrier frames.
  bpf_program filter{};
  if (pcap_compile(h->live, &filter, "ip or ip6", 1, PCAP_NETMASK_UNKNOWN) != 0 ||
      pcap_setfilter(h->live, &filter) != 0) {
    *error = "capture filter: " + std::string(pcap_geterr(h->live));
    pcap_freecode(&filter);
    return nullptr;
  }
  pcap_freecode(&filter);
  h->dumper = pcap_dump_open(h->live, path.c_str());
  if (!h->dumper) {
    *error = path + ": " + pcap_geterr(h->live);
    return nullptr;
  }
  return std::unique_ptr<LiveCapture>(new LiveCapture(std::move(h)));
}

bool LiveCapture::poll(std::string* error) {
  for (;;) {
    int n = pcap_dispatch(h_->live, -1, pcap_dump, reinterpret_cast<u_char*>(h_->dumper));
    if (n == 0) return true;
    if (n < 0) {
      *error = std::string("capture: ") + pcap_geterr(h_->live);
      return false;
    }
  }
}

bool LiveCapture::close(std::string* error) {
  if (!poll(error)) return false;
  bool ok = pcap_dump_flush(h_->dumper) == 0;
  h_.reset();
  if (!ok) *error = "writing the capture failed";
  return ok;
}

}  // namespace nv::kernel
