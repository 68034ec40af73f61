// See raw.h. Options from ip(7), ipv6(7), raw(7), packet(7).
#include "raw.h"
#include "raw-util.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace ctsock {

Napi::Function RawSock::Define(Napi::Env env) {
  return DefineClass(env, "RawSock",
                     {
                         InstanceMethod("sendTo", &RawSock::SendTo),
                         InstanceMethod("membership", &RawSock::Membership),
                         InstanceMethod("setOption", &RawSock::SetOption),
                         InstanceMethod("getOption", &RawSock::GetOption),
                         InstanceMethod("ifIndex", &RawSock::IfIndexOf),
                         InstanceMethod("start", &RawSock::Start),
                         InstanceMethod("stop", &RawSock::Stop),
                         InstanceMethod("close", &RawSock::Close),
                         InstanceMethod("setRef", &RawSock::SetRef),
                     });
}

// openRaw({family, type, protocol, ifname, netns, bindAddress, ttl,
//          multicastLoop, multicastIf, checksumOffset, rcvbuf})
Napi::Value RawSock::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return TypeError(env, "openRaw(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  int family = static_cast<int>(GetInt(o, "family", -1));
  int type = static_cast<int>(GetInt(o, "type", SOCK_RAW));
  int protocol = static_cast<int>(GetInt(o, "protocol", -1));
  if ((family != AF_INET && family != AF_INET6 && family != AF_PACKET) || protocol < 0 || protocol > 0xffff)
    return TypeError(env, "options.family / options.protocol");
  // AF_PACKET takes the ethertype in network byte order (packet(7)).
  int sockProto = family == AF_PACKET ? htons(static_cast<uint16_t>(protocol)) : protocol;

  int fd = -1, serr = 0;
  const char* op = "socket";
  int nerr = RunInNetns(GetString(o, "netns"), [&]() {
    fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, sockProto);
    if (fd < 0) serr = errno;
  }, &op);
  if (nerr != 0) return MakeError(env, nerr, op);
  if (fd < 0) return MakeError(env, serr, "socket");
  auto fail = [&](int err, const char* what) {
    close(fd);
    return MakeError(env, err, what);
  };

  std::string ifname = GetString(o, "ifname");
  int ifindex = 0;
  if (!ifname.empty()) {
    ifindex = IfIndexOnSocket(fd, ifname);
    if (ifindex == 0) return fail(ENODEV, "ifindex");
  }
  int64_t rcv = GetInt(o, "rcvbuf", 0);
  if (rcv > 0) {
    int e = SetBufSize(fd, true, static_cast<int>(std::min<int64_t>(rcv, 1 << 30)));
    if (e) return fail(e, "setsockopt-rcvbuf");
  }
  if (family == AF_PACKET) {
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = static_cast<uint16_t>(sockProto);
    ll.sll_ifindex = ifindex;
    if (bind(fd, reinterpret_cast<sockaddr*>(&ll), sizeof ll) < 0) return fail(errno, "bind");
  } else {
    if (!ifname.empty() && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                                      static_cast<socklen_t>(ifname.size())) < 0)
      return fail(errno, "setsockopt-bindtodevice");
    const char* iop = "";
    int e = ConfigureInet(fd, family, o, ifindex, &iop);
    if (e) return fail(e, iop);
  }
  Napi::Object init = Napi::Object::New(env);
  init.Set("fd", fd);
  init.Set("family", family);
  init.Set("protocol", protocol);
  init.Set("ifindex", ifindex);
  return env.GetInstanceData<AddonData>()->rawCtor.New({init});
}

RawSock::RawSock(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawSock>(info) {
  if (!info[0].IsObject()) {
    TypeError(info.Env(), "internal constructor");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  fd_ = static_cast<int>(GetInt(o, "fd", -1));
  family_ = static_cast<int>(GetInt(o, "family", 0));
  protocol_ = static_cast<int>(GetInt(o, "protocol", 0));
  ifindex_ = static_cast<int>(GetInt(o, "ifindex", 0));
  info.This().As<Napi::Object>().Set("ifindex", ifindex_);
}

RawSock::~RawSock() {
  poller_.Close();
  if (fd_ >= 0) close(fd_);
}

void RawSock::StopPolling() {
  poller_.Stop();
  started_ = false;
  onData_.Reset();
  onError_.Reset();
  if (refHeld_) {
    refHeld_ = false;
    Unref();
  }
}

// sendTo(data, to, ifindex?): `to` is an IP address, or for AF_PACKET the
// destination MAC ('' = broadcast); data is then a whole Ethernet frame
// (SOCK_RAW). ifindex selects the outgoing interface (IP_PKTINFO / IPV6_PKTINFO).
Napi::Value RawSock::SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* p;
  size_t len;
  if (!GetBytes(info[0], &p, &len) || !info[1].IsString()) return TypeError(env, "sendTo(data, to, ifindex?)");
  if (fd_ < 0) return MakeError(env, EBADF, "send");
  std::string to = info[1].As<Napi::String>().Utf8Value();
  int oif = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
  sockaddr_storage ss{};
  socklen_t slen = 0;
  alignas(cmsghdr) uint8_t cbuf[CMSG_SPACE(sizeof(in6_pktinfo))] = {0};
  iovec iov{p, len};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (family_ == AF_PACKET) {
    auto* ll = reinterpret_cast<sockaddr_ll*>(&ss);
    ll->sll_family = AF_PACKET;
    ll->sll_protocol = htons(static_cast<uint16_t>(protocol_));
    ll->sll_ifindex = oif > 0 ? oif : ifindex_;
    ll->sll_halen = 6;
    if (!ParseMac(to, ll->sll_addr)) return MakeError(env, EINVAL, "send");
    slen = sizeof *ll;
  } else if (family_ == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, to.c_str(), &a->sin_addr) != 1) return MakeError(env, EINVAL, "send");
    slen = sizeof *a;
    if (oif > 0) {
      mh.msg_control = cbuf;
      mh.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      pi.ipi_ifindex = oif;
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_scope_id = static_cast<uint32_t>(std::max(oif, 0));
    if (inet_pton(AF_INET6, to.c_str(), &a->sin6_addr) != 1) return MakeError(env, EINVAL, "send");
    slen = sizeof *a;
    if (oif > 0) {
      mh.msg_control = cbuf;
      mh.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      pi.ipi6_ifindex = static_cast<unsigned>(oif);
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
  }
  mh.msg_name = &ss;
  mh.msg_namelen = slen;
  for (;;) {
    if (sendmsg(fd_, &mh, 0) >= 0) return env.Null();
    if (errno != EINTR) return MakeError(env, errno, "send");
  }
}

// membership(group, ifname, join): IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP and the drops.
Napi::Value RawSock::Membership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsBoolean()) return TypeError(env, "membership(group, ifname, join)");
  if (fd_ < 0) return MakeError(env, EBADF, "setsockopt");
  std::string group = info[0].As<Napi::String>().Utf8Value();
  int idx = IfIndexOnSocket(fd_, info[1].As<Napi::String>().Utf8Value());
  bool join = info[2].As<Napi::Boolean>().Value();
  const char* op = join ? "add-membership" : "drop-membership";
  if (idx == 0) return MakeError(env, ENODEV, op);
  int r;
  if (family_ == AF_INET) {
    ip_mreqn m{};
    m.imr_ifindex = idx;
    if (inet_pton(AF_INET, group.c_str(), &m.imr_multiaddr) != 1) return MakeError(env, EINVAL, op);
    r = setsockopt(fd_, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
  } else if (family_ == AF_INET6) {
    ipv6_mreq m{};
    m.ipv6mr_interface = static_cast<unsigned>(idx);
    if (inet_pton(AF_INET6, group.c_str(), &m.ipv6mr_multiaddr) != 1) return MakeError(env, EINVAL, op);
    r = setsockopt(fd_, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &m, sizeof m);
  } else {
    return MakeError(env, EOPNOTSUPP, op);
  }
  return r < 0 ? Napi::Value(MakeError(env, errno, op)) : env.Null();
}

Napi::Value RawSock::SetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) return TypeError(env, "setOption(level, name, value)");
  if (fd_ < 0) return MakeError(env, EBADF, "setsockopt");
  int e = SetIntOpt(fd_, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                    info[2].As<Napi::Number>().Int32Value());
  return e ? Napi::Value(MakeError(env, e, "setsockopt")) : env.Null();
}

Napi::Value RawSock::GetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) return TypeError(env, "getOption(level, name)");
  if (fd_ < 0) return MakeError(env, EBADF, "getsockopt");
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd_, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &value, &len) < 0)
    return MakeError(env, errno, "getsockopt");
  return Napi::Number::New(env, value);
}

Napi::Value RawSock::IfIndexOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return TypeError(env, "ifIndex(name)");
  return Napi::Number::New(env, fd_ < 0 ? 0 : IfIndexOnSocket(fd_, info[0].As<Napi::String>().Utf8Value()));
}

Napi::Value RawSock::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() || !info[1].IsFunction()) return TypeError(env, "start(onData, onError)");
  if (fd_ < 0) return MakeError(env, EBADF, "start");
  if (slab_.empty()) {
    slab_.resize(kSlots * kSlotSize);
    ctrl_.resize(kSlots * kCtrlSize);
    from_.resize(kSlots);
    iov_.resize(kSlots);
    msgs_.resize(kSlots);
    for (unsigned i = 0; i < kSlots; i++) iov_[i] = {slab_.data() + i * kSlotSize, kSlotSize};
  }
  onData_ = Napi::Persistent(info[0].As<Napi::Function>());
  onError_ = Napi::Persistent(info[1].As<Napi::Function>());
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int r = poller_.Start(loop, fd_, this, &RawSock::OnReadable);
  if (r < 0) {
    StopPolling();
    return MakeError(env, -r, "poll");
  }
  started_ = true;
  if (!refHeld_) {
    refHeld_ = true;
    Ref();
  }
  return env.Null();
}

Napi::Value RawSock::Stop(const Napi::CallbackInfo& info) {
  StopPolling();
  return info.Env().Undefined();
}

Napi::Value RawSock::Close(const Napi::CallbackInfo& info) {
  StopPolling();
  poller_.Close();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

Napi::Value RawSock::SetRef(const Napi::CallbackInfo& info) {
  poller_.SetRef(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

void RawSock::OnReadable(void* self, int status) {
  auto* s = static_cast<RawSock*>(self);
  Napi::Env env = s->Env();
  Napi::HandleScope scope(env);
  s->Ref();
  if (status < 0) {  // EPOLLERR: fetch the pending error (e.g. from ICMP), read on
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) CallJs(env, s->onError_, {MakeError(env, err, "recv")});
  }
  if (s->started_ && s->fd_ >= 0) s->ReadBatch(env);
  s->Unref();
}

// {from, to, ifindex, ttl, pktType} of the datagram in `slot`.
Napi::Object RawSock::Meta(Napi::Env env, unsigned slot) {
  Napi::Object m = Napi::Object::New(env);
  const msghdr& h = msgs_[slot].msg_hdr;
  const uint8_t* data = slab_.data() + slot * kSlotSize;
  int ifindex = 0, ttl = -1, pktType = -1;
  std::string from, to;
  if (family_ == AF_PACKET) {
    auto* ll = reinterpret_cast<const sockaddr_ll*>(&from_[slot]);
    from = FormatMac(ll->sll_addr, std::min<unsigned>(ll->sll_halen, 8));
    ifindex = ll->sll_ifindex;
    pktType = ll->sll_pkttype;
  } else {
    if (family_ == AF_INET) from = AddrText(AF_INET, &reinterpret_cast<const sockaddr_in*>(&from_[slot])->sin_addr);
    else from = AddrText(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&from_[slot])->sin6_addr);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        ifindex = pi.ipi_ifindex;
        to = AddrText(AF_INET, &pi.ipi_addr);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        ifindex = static_cast<int>(pi.ipi6_ifindex);
        to = AddrText(AF_INET6, &pi.ipi6_addr);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
        memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      }
    }
    // IPv4 raw sockets see the IP header: TTL is byte 8 (RFC 791 section 3.1).
    if (family_ == AF_INET && ttl < 0 && msgs_[slot].msg_len >= 20) ttl = data[8];
  }
  m.Set("from", from);
  m.Set("to", to);
  m.Set("ifindex", ifindex);
  m.Set("ttl", ttl);
  m.Set("pktType", pktType);
  return m;
}

void RawSock::ReadBatch(Napi::Env env) {
  uint32_t count = 0;
  while (started_ && fd_ >= 0 && count < kMaxPerWakeup) {
    for (unsigned i = 0; i < kSlots; i++) {
      msgs_[i] = {};
      msgs_[i].msg_hdr.msg_name = &from_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_control = ctrl_.data() + i * kCtrlSize;
      msgs_[i].msg_hdr.msg_controllen = kCtrlSize;
    }
    int n = recvmmsg(fd_, msgs_.data(), kSlots, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      CallJs(env, onError_, {MakeError(env, errno, "recv")});
      break;
    }
    if (n == 0) break;
    count += static_cast<uint32_t>(n);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += msgs_[i].msg_len;
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, total);
    Napi::Array meta = Napi::Array::New(env, static_cast<size_t>(n));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
      unsigned len = msgs_[i].msg_len;
      memcpy(buf.Data() + off, slab_.data() + static_cast<size_t>(i) * kSlotSize, len);
      off += len;
      Napi::Object m = Meta(env, static_cast<unsigned>(i));
      m.Set("len", len);
      m.Set("truncated", (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
      meta.Set(static_cast<uint32_t>(i), m);
    }
    CallJs(env, onData_, {buf, meta});
  }
}

}  // namespace ctsock
