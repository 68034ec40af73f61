// Helpers for raw.cc: address text, MAC text, and inet socket options.
// Options from ip(7), ipv6(7), raw(7).
#include "raw-util.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

namespace ctsock {

int IfIndexOnSocket(int fd, const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return 0;
  ifreq ifr{};
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) return 0;
  return ifr.ifr_ifindex;
}

// "aa:bb:cc:dd:ee:ff" -> 6 bytes; empty text is the broadcast address.
bool ParseMac(const std::string& s, uint8_t out[6]) {
  if (s.empty()) {
    memset(out, 0xff, 6);
    return true;
  }
  unsigned v[6];
  char tail;
  if (sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return false;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) return false;
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return true;
}

std::string FormatMac(const uint8_t* a, unsigned len) {
  std::string s;
  char b[4];
  for (unsigned i = 0; i < len; i++) {
    snprintf(b, sizeof b, i ? ":%02x" : "%02x", a[i]);
    s += b;
  }
  return s;
}

std::string AddrText(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (inet_ntop(family, addr, buf, sizeof buf) == nullptr) return std::string();
  return buf;
}

// Set the inet options requested in o. Returns 0 or errno with *op set.
int ConfigureInet(int fd, int family, const Napi::Object& o, int ifindex, const char** op) {
  const bool v6 = family == AF_INET6;
  int e;
  *op = "setsockopt-recv-meta";
  if (v6) {
    if ((e = SetIntOpt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1))) return e;
    if ((e = SetIntOpt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1))) return e;
  } else {
    if ((e = SetIntOpt(fd, IPPROTO_IP, IP_PKTINFO, 1))) return e;
    if ((e = SetIntOpt(fd, IPPROTO_IP, IP_RECVTTL, 1))) return e;
  }
  int64_t ttl = GetInt(o, "ttl", -1);
  if (ttl >= 0) {
    *op = "setsockopt-ttl";
    if ((e = SetIntOpt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, static_cast<int>(ttl)))) return e;
    if ((e = SetIntOpt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, static_cast<int>(ttl)))) return e;
  }
  Napi::Value loop = o.Get("multicastLoop");
  if (loop.IsBoolean()) {
    *op = "setsockopt-multicast-loop";
    int on = loop.As<Napi::Boolean>().Value() ? 1 : 0;
    if ((e = SetIntOpt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, on))) return e;
  }
  int mif = static_cast<int>(GetInt(o, "multicastIf", ifindex));
  if (mif > 0) {
    *op = "setsockopt-multicast-if";
    if (v6) {
      if ((e = SetIntOpt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, mif))) return e;
    } else {
      ip_mreqn m{};
      m.imr_ifindex = mif;
      if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0) return errno;
    }
  }
  int64_t csum = GetInt(o, "checksumOffset", -1);
  if (v6 && csum >= 0) {
    *op = "setsockopt-ipv6-checksum";
    if ((e = SetIntOpt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, static_cast<int>(csum)))) return e;
  }
  std::string bindAddr = GetString(o, "bindAddress");
  if (!bindAddr.empty()) {
    *op = "bind";
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_scope_id = static_cast<uint32_t>(ifindex);
      if (inet_pton(AF_INET6, bindAddr.c_str(), &a->sin6_addr) != 1) return EINVAL;
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      if (inet_pton(AF_INET, bindAddr.c_str(), &a->sin_addr) != 1) return EINVAL;
      len = sizeof *a;
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) return errno;
  }
  return 0;
}

}  // namespace ctsock
