// ctsock: the ctsync socket addon. Module init and small helpers.
// Socket classes: netlink.cc (AF_NETLINK), raw.cc (AF_INET/AF_INET6/AF_PACKET raw).
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include "common.h"
#include "netlink.h"
#include "raw.h"

namespace ctsock {
namespace {

// ifIndex(name, netns?) -> index, 0 when there is no such interface.
Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return TypeError(env, "ifIndex(name, netns?)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string ns = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  unsigned idx = 0;
  const char* op = "";
  int err = RunInNetns(ns, [&]() { idx = if_nametoindex(name.c_str()); }, &op);
  if (err) return MakeError(env, err, op);
  return Napi::Number::New(env, idx);
}

// ifName(index, netns?) -> name, '' when there is none.
Napi::Value IfName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return TypeError(env, "ifName(index, netns?)");
  unsigned idx = info[0].As<Napi::Number>().Uint32Value();
  std::string ns = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  char buf[IF_NAMESIZE + 1] = {0};
  bool ok = false;
  const char* op = "";
  int err = RunInNetns(ns, [&]() { ok = if_indextoname(idx, buf) != nullptr; }, &op);
  if (err) return MakeError(env, err, op);
  return Napi::String::New(env, ok ? buf : "");
}

// sdNotify(socketPath, state) -> null | error. '@' starts an abstract address.
// (sd_notify(3) protocol: one AF_UNIX datagram with "KEY=VALUE\n..." text.)
Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) return TypeError(env, "sdNotify(path, state)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string state = info[1].As<Napi::String>().Utf8Value();
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path) return MakeError(env, EINVAL, "sd-notify");
  memcpy(sun.sun_path, path.data(), path.size());
  if (path[0] == '@') sun.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return MakeError(env, errno, "socket");
  ssize_t r = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sun), len);
  int e = errno;
  close(fd);
  if (r < 0) return MakeError(env, e, "sd-notify");
  return env.Null();
}

// setSockOptInt(fd, level, name, value) -> null | error. For sockets Node owns
// (dgram): SO_RCVBUFFORCE / SO_SNDBUFFORCE need CAP_NET_ADMIN, which Node's API cannot ask for.
Napi::Value SetSockOptInt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (int i = 0; i < 4; i++)
    if (!info[i].IsNumber()) return TypeError(env, "setSockOptInt(fd, level, name, value)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int level = info[1].As<Napi::Number>().Int32Value();
  int name = info[2].As<Napi::Number>().Int32Value();
  int value = info[3].As<Napi::Number>().Int32Value();
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) return MakeError(env, errno, "setsockopt");
  return env.Null();
}

Napi::Value ErrnoNameJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) return TypeError(info.Env(), "errnoName(n)");
  return Napi::String::New(info.Env(), ErrnoName(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->netlinkCtor = Napi::Persistent(NetlinkSock::Define(env));
  data->rawCtor = Napi::Persistent(RawSock::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("openNetlink", Napi::Function::New(env, NetlinkSock::Open, "openNetlink"));
  exports.Set("openRaw", Napi::Function::New(env, RawSock::Open, "openRaw"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("ifName", Napi::Function::New(env, IfName, "ifName"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("setSockOptInt", Napi::Function::New(env, SetSockOptInt, "setSockOptInt"));
  exports.Set("errnoName", Napi::Function::New(env, ErrnoNameJs, "errnoName"));
  return exports;
}

}  // namespace
}  // namespace ctsock

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return ctsock::Init(env, exports); }

NODE_API_MODULE(ctsock, InitModule)
