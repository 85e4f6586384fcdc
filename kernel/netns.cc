#include "kernel/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "kernel/wire.h"

namespace nv::kernel {
namespace {

// IEEE 802 "local experimental" ethertype: nothing in the kernel handles it,
// so a barrier frame touches no IP counter.
constexpr uint16_t kBarrierEthertype = 0x88b5;
// The largest IPv6 packet (40-byte header + 65535 bytes of payload).
constexpr int kLoMtu = 40 + 65535;
constexpr int kRcvBuf = 16 << 20;
constexpr int kBarrierTimeoutMs = 5000;

bool sys_fail(NetnsError* error, const std::string& what) {
  error->unavailable = errno == EPERM || errno == EACCES;
  error->message = what + ": " + std::strerror(errno);
  return false;
}

bool write_file(const std::string& path, const std::string& text, int* err) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  ssize_t n = write(fd, text.data(), text.size());
  *err = n < 0 ? errno : 0;
  close(fd);
  return n == ssize_t(text.size());
}

bool is_default_local(const trace::Addr& a) {
  if (!a.v6) return a.bytes[0] == 127;
  static const trace::Addr kLoopback6 = [] {
    trace::Addr l;
    l.v6 = true;
    l.bytes[15] = 1;
    return l;
  }();
  return a == kLoopback6;
}

// Unicast addresses only: an address lo cannot hold is left alone and the
// kernel treats packets to it as it does.
bool can_add(const trace::Addr& a) {
  if (!a.v6) return a.bytes[0] != 0 && a.bytes[0] < 224;
  if (a.bytes[0] == 0xff) return false;
  for (uint8_t b : a.bytes)
    if (b != 0) return true;
  return false;
}

// RTM_NEWADDR: addr/32 or addr/128 on lo.
bool add_address(int lo_index, const trace::Addr& a, NetnsError* error) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return sys_fail(error, "netlink socket");
  struct {
    nlmsghdr nh;
    ifaddrmsg ifa;
    char attrs[64];
  } req{};
  const size_t alen = a.v6 ? 16 : 4;
  req.nh.nlmsg_type = RTM_NEWADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.nh.nlmsg_seq = 1;
  req.ifa.ifa_family = a.v6 ? AF_INET6 : AF_INET;
  req.ifa.ifa_prefixlen = a.v6 ? 128 : 32;
  req.ifa.ifa_flags = a.v6 ? IFA_F_NODAD : 0;
  req.ifa.ifa_index = unsigned(lo_index);
  size_t len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  for (uint16_t type : {uint16_t(IFA_LOCAL), uint16_t(IFA_ADDRESS)}) {
    auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(len));
    rta->rta_type = type;
    rta->rta_len = uint16_t(RTA_LENGTH(alen));
    std::memcpy(RTA_DATA(rta), a.bytes.data(), alen);
    len = NLMSG_ALIGN(len) + RTA_ALIGN(rta->rta_len);
  }
  req.nh.nlmsg_len = uint32_t(len);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  bool ok = sendto(fd, &req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) ==
            ssize_t(len);
  if (!ok) {
    sys_fail(error, "netlink RTM_NEWADDR");
    close(fd);
    return false;
  }
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  int saved = errno;
  close(fd);
  if (n < ssize_t(NLMSG_LENGTH(sizeof(nlmsgerr)))) {
    errno = n < 0 ? saved : EPROTO;
    return sys_fail(error, "netlink ack");
  }
  const auto* nh = reinterpret_cast<const nlmsghdr*>(buf);
  if (nh->nlmsg_type == NLMSG_ERROR) {
    const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nh));
    if (e->error != 0 && e->error != -EEXIST) {
      errno = -e->error;
      return sys_fail(error, "adding " + trace::format_addr(a) + " to lo");
    }
  }
  return true;
}

// Waits until the kernel routes packets to a v6 address just added to lo:
// the netlink ack comes before addrconf's work inserts the address's local
// route (RTF_LOCAL, in the local table), and until then a datagram to it
// meets the address's prefix route, which on lo rejects it (Ip6InNoRoutes).
bool wait_for_local_route(const trace::Addr& a, NetnsError* error) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string want;
  for (uint8_t b : a.bytes) {
    want += kHex[b >> 4];
    want += kHex[b & 15];
  }
  want += " 80 ";
  for (int tries = 0; tries < 2000; ++tries) {
    int fd = open("/proc/self/net/ipv6_route", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_fail(error, "open /proc/self/net/ipv6_route");
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, size_t(n));
    close(fd);
    // "DEST PLEN SRC SPLEN NEXTHOP METRIC REFCNT USE FLAGS DEV", in hex.
    for (size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) {
      const size_t end = text.find('\n', at);
      std::istringstream line(text.substr(at, end - at));
      std::string field[9];
      for (std::string& f : field) line >> f;
      if (text.compare(at, want.size(), want) == 0 && field[8].size() == 8 && field[8][0] >= '8')
        return true;  // RTF_LOCAL (0x80000000)
      if (end == std::string::npos) break;
    }
    usleep(1000);
  }
  error->message = "the local route of " + trace::format_addr(a) + " did not appear within 2 s";
  return false;
}

}  // namespace

std::unique_ptr<Netns> Netns::create(const Config& config, NetnsError* error) {
  if (unshare(CLONE_NEWNET) != 0) {
    sys_fail(error, "unshare(CLONE_NEWNET)");
    return nullptr;
  }
  std::unique_ptr<Netns> ns(new Netns);
  ns->ns_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (ns->ns_fd_ < 0) {
    sys_fail(error, "open /proc/self/ns/net");
    return nullptr;
  }
  if (!ns->setup(config, error)) return nullptr;
  return ns;
}

Netns::~Netns() {
  for (const Listener& l : listeners_) close(l.fd);
  for (int fd : {ns_fd_, tx_fd_, barrier_fd_, icmp_fd_[0], icmp_fd_[1]})
    if (fd >= 0) close(fd);
}

bool Netns::setup(const Config& config, NetnsError* error) {
  // lo: up, and an MTU that fits every fragment a trace can describe.
  int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ctl < 0) return sys_fail(error, "socket(AF_INET, SOCK_DGRAM)");
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  bool ok = ioctl(ctl, SIOCGIFINDEX, &ifr) == 0;
  lo_index_ = ifr.ifr_ifindex;
  ok = ok && ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
  ok = ok && ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0;
  ifr.ifr_mtu = kLoMtu;
  ok = ok && ioctl(ctl, SIOCSIFMTU, &ifr) == 0;
  int saved = errno;
  close(ctl);
  errno = saved;
  if (!ok) return sys_fail(error, "configuring lo");

  // 127.0.0.1 -> 127.0.0.1 received on lo from a packet socket.
  // ICMP errors are not rate limited (icmp_ratemask, the ICMPv6 ratemask:
  // no type is), so every one reassembly sends is seen.
  for (auto [path, value] : {std::pair{"/proc/sys/net/ipv4/conf/all/route_localnet", "1\n"},
                             {"/proc/sys/net/ipv4/conf/lo/route_localnet", "1\n"},
                             {"/proc/sys/net/ipv4/conf/all/accept_local", "1\n"},
                             {"/proc/sys/net/ipv4/conf/lo/accept_local", "1\n"},
                             {"/proc/sys/net/ipv4/icmp_ratemask", "0\n"},
                             {"/proc/sys/net/ipv6/icmp/ratemask", "\n"}}) {
    int err;
    if (!write_file(path, value, &err)) {
      errno = err;
      return sys_fail(error, std::string("writing ") + path);
    }
  }
  for (const trace::Addr& a : config.addresses)
    if (!is_default_local(a) && can_add(a) && !add_address(lo_index_, a, error)) return false;
  for (const trace::Addr& a : config.addresses)
    if (a.v6 && !is_default_local(a) && can_add(a) && !wait_for_local_route(a, error)) return false;

  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = lo_index_;
  tx_fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (tx_fd_ < 0) return sys_fail(error, "socket(AF_PACKET)");
  // Protocol 0 until bound: a packet socket created with a protocol is
  // hooked at once, and binding it then unhooks it first, which waits for
  // an RCU grace period (13 ms a namespace).
  barrier_fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (barrier_fd_ < 0) return sys_fail(error, "socket(AF_PACKET)");
  ll.sll_protocol = htons(kBarrierEthertype);
  if (bind(barrier_fd_, reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) != 0)
    return sys_fail(error, "bind(AF_PACKET, lo)");

  for (int fi = 0; fi < 2; ++fi) {
    const bool v6 = fi == 1;
    icmp_fd_[fi] = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          v6 ? int(IPPROTO_ICMPV6) : int(IPPROTO_ICMP));
    int one = 1, size = kRcvBuf;
    if (icmp_fd_[fi] < 0 ||
        setsockopt(icmp_fd_[fi], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0 ||
        (v6 && setsockopt(icmp_fd_[fi], IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0))
      return sys_fail(error, v6 ? "the raw ICMPv6 socket" : "the raw ICMP socket");
  }
  for (const auto& [family, proto] : config.listen) {
    const bool v6 = family == frag::Family::kV6;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
    if (fd < 0)
      return sys_fail(error, std::string("socket(") + (v6 ? "AF_INET6" : "AF_INET") +
                                 ", SOCK_RAW, " + std::to_string(proto) + ")");
    listeners_.push_back({family, proto, fd});
    int one = 1, size = kRcvBuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
      return sys_fail(error, "SO_RCVBUFFORCE");
    if (v6 && (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0 ||
               setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) != 0 ||
               setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) != 0))
      return sys_fail(error, "setsockopt(IPPROTO_IPV6, IPV6_RECV*)");
  }
  std::string msg;
  if (!proc_.open(&msg) || !proc_.read(baseline_, &msg)) {
    error->message = msg;
    return false;
  }
  return true;
}

bool Netns::enter(NetnsError* error) const {
  if (setns(ns_fd_, CLONE_NEWNET) != 0) return sys_fail(error, "setns");
  return true;
}

bool Netns::write_sysctl(const std::string& key, uint64_t value, bool* refused, NetnsError* error) {
  std::string path = "/proc/sys/net/" + key;
  for (size_t i = 14; i < path.size(); ++i)
    if (path[i] == '.') path[i] = '/';
  int err;
  *refused = false;
  if (write_file(path, std::to_string(value) + "\n", &err)) return true;
  if (err == EINVAL) {
    *refused = true;
    return false;
  }
  errno = err;
  return sys_fail(error, "writing " + path);
}

bool Netns::send(const std::vector<uint8_t>& frame, NetnsError* error) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = lo_index_;
  to.sll_halen = ETH_ALEN;
  if (sendto(tx_fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
      ssize_t(frame.size()))
    return sys_fail(error, "sending a " + std::to_string(frame.size()) + "-byte frame on lo");
  // An ICMP error the frame caused joins the backlog while the frame is
  // handled, possibly behind the first barrier: the second follows it.
  return barrier(error) && barrier(error);
}

bool Netns::barrier(NetnsError* error) {
  uint8_t frame[ETH_HLEN + 8] = {};
  frame[12] = uint8_t(kBarrierEthertype >> 8);
  frame[13] = uint8_t(kBarrierEthertype);
  const uint64_t seq = ++barrier_seq_;
  std::memcpy(frame + ETH_HLEN, &seq, sizeof(seq));
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = lo_index_;
  to.sll_halen = ETH_ALEN;
  if (sendto(tx_fd_, frame, sizeof(frame), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
      ssize_t(sizeof(frame)))
    return sys_fail(error, "sending the barrier frame");
  for (;;) {
    pollfd p{barrier_fd_, POLLIN, 0};
    int r = poll(&p, 1, kBarrierTimeoutMs);
    // A signal the kernel engine handles (SIGINT, SIGTERM): it stops.
    if (r < 0) return sys_fail(error, "waiting for the barrier frame");
    if (r == 0) {
      error->message = "the barrier frame did not come back on lo within 5 s";
      return false;
    }
    uint8_t buf[64];
    ssize_t n = recv(barrier_fd_, buf, sizeof(buf), 0);
    if (n < 0) return sys_fail(error, "receiving the barrier frame");
    uint64_t got = 0;
    if (n >= ssize_t(ETH_HLEN + 8)) std::memcpy(&got, buf + ETH_HLEN, sizeof(got));
    if (got == seq) return true;
  }
}

namespace {

// The ICMP error in `msg` (`n` bytes: v4 with its IP header, v6 from its
// ICMPv6 header), if it is of a kind reassembly sends. After its 8-byte
// header the error quotes the packet it is about, read as the wire form.
std::optional<RawIcmp> parse_icmp(frag::Family family, const uint8_t* msg, size_t n) {
  const bool v4 = family == frag::Family::kV4;
  if (v4) {
    if (n < 20 || msg[8] == kWireTtl) return std::nullopt;
    const size_t ihl = size_t(msg[0] & 15) * 4;
    if (n < ihl) return std::nullopt;
    msg += ihl;
    n -= ihl;
  }
  if (n < 8) return std::nullopt;
  const uint8_t type = msg[0], code = msg[1];
  const bool ours = v4 ? (type == 11 && code == 1) || (type == 12 && code == 0)
                       : (type == 3 && code == 1) || type == 4;
  std::string why;
  const std::optional<WireFragment> about =
      ours ? parse_packet(msg + 8, n - 8, &why, /*quoted=*/true) : std::nullopt;
  if (!about || about->family != family) return std::nullopt;
  RawIcmp e{.family = family,
            .type = type,
            .code = code,
            .src = about->src,
            .dst = about->dst,
            .proto = about->proto,
            .id = about->id};
  if (!v4 && type == 4)
    e.pointer = uint32_t(msg[4]) << 24 | uint32_t(msg[5]) << 16 | uint32_t(msg[6]) << 8 | msg[7];
  if (v4 && type == 12) e.pointer = msg[4];  // RFC 792: the pointer is the first octet
  return e;
}

}  // namespace

bool Netns::drain(std::vector<RawDelivery>& out, std::vector<RawIcmp>& icmp, NetnsError* error) {
  // One buffer for every namespace: allocating (and zeroing) 128 KiB per
  // call made each operation cost more with every namespace drained.
  static std::vector<uint8_t> buf(1 << 17);
  for (int fi = 0; fi < 2; ++fi) {
    for (;;) {
      alignas(cmsghdr) char control[64];
      iovec iov{buf.data(), buf.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(icmp_fd_[fi], &msg, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return sys_fail(error, "recvmsg on the raw ICMP socket");
      }
      if (fi == 1) {  // the hop limit comes as ancillary data
        int hop_limit = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
          if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            std::memcpy(&hop_limit, CMSG_DATA(c), sizeof(hop_limit));
        if (hop_limit == kWireTtl) continue;
      }
      if (auto e = parse_icmp(frag::Family(fi), buf.data(), size_t(n))) icmp.push_back(*e);
    }
  }
  for (const Listener& l : listeners_) {
    for (;;) {
      sockaddr_in6 from{};
      alignas(cmsghdr) char control[128];
      iovec iov{buf.data(), buf.size()};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(l.fd, &msg, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return sys_fail(error, "recvmsg on a raw socket");
      }
      RawDelivery d;
      d.family = l.family;
      d.proto = l.proto;
      if (l.family == frag::Family::kV4) {
        // The IPv4 header comes with the datagram, with the first
        // fragment's options as the kernel left them.
        std::string why;
        std::optional<WireFragment> w = parse_packet(buf.data(), size_t(n), &why);
        if (!w || buf[8] != kWireTtl) continue;
        d.id = w->id;
        d.proto = w->proto;
        d.ecn = w->ecn;
        d.df = w->df;
        d.opt = w->ext;
        d.src = w->src;
        d.dst = w->dst;
        d.payload = std::move(w->payload);
      } else {
        d.src.v6 = d.dst.v6 = true;
        std::memcpy(d.src.bytes.data(), &from.sin6_addr, 16);
        int hop_limit = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            std::memcpy(d.dst.bytes.data(), &info.ipi6_addr, 16);
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
            std::memcpy(&hop_limit, CMSG_DATA(c), sizeof(hop_limit));
          } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
            int tclass = 0;
            std::memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
            d.ecn = uint8_t(tclass & 3);
          }
        }
        if (hop_limit != kWireTtl) continue;
        d.payload.assign(buf.begin(), buf.begin() + n);
      }
      out.push_back(std::move(d));
    }
  }
  return true;
}

bool Netns::counters(CounterMap& out, NetnsError* error) const {
  if (!proc_.read(out, &error->message)) return false;
  for (auto& [name, value] : out) value -= baseline_.at(name);
  return true;
}

}  // namespace nv::kernel
