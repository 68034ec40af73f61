// Raw IP (AF_INET / AF_INET6) and packet (AF_PACKET) sockets for VRRP adverts,
// gratuitous ARP and unsolicited neighbour advertisements. Low rate: each
// datagram is delivered with its metadata (source, destination, ifindex, TTL).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include "common.h"

namespace ctsock {

class RawSock : public Napi::ObjectWrap<RawSock> {
 public:
  static Napi::Function Define(Napi::Env env);
  // openRaw(opts) -> socket object | error value
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit RawSock(const Napi::CallbackInfo& info);
  ~RawSock() override;

 private:
  static constexpr unsigned kSlots = 8;
  static constexpr size_t kSlotSize = 64 * 1024;
  static constexpr size_t kCtrlSize = 256;
  static constexpr uint32_t kMaxPerWakeup = 64;

  Napi::Value SendTo(const Napi::CallbackInfo& info);
  Napi::Value Membership(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value GetOption(const Napi::CallbackInfo& info);
  Napi::Value IfIndexOf(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);

  static void OnReadable(void* self, int status);
  void ReadBatch(Napi::Env env);
  Napi::Object Meta(Napi::Env env, unsigned slot);
  void StopPolling();

  int fd_ = -1;
  int family_ = 0;
  int protocol_ = 0;  // host order, also for AF_PACKET
  int ifindex_ = 0;   // AF_PACKET bound interface
  bool started_ = false;
  bool refHeld_ = false;
  Poller poller_;
  Napi::FunctionReference onData_;
  Napi::FunctionReference onError_;

  std::vector<uint8_t> slab_;
  std::vector<uint8_t> ctrl_;
  std::vector<sockaddr_storage> from_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
};

}  // namespace ctsock
