// AF_NETLINK socket: batched receive (recvmmsg) driven by uv_poll, batched send
// (sendmmsg, or one datagram from an iovec), and sendAsync: the same sendmmsg
// on a libuv threadpool thread, so that the kernel's work for a netlink write
// (which runs inside the sender's sendmsg) overlaps JS work on the main thread.
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>

#include <vector>

#include "common.h"

namespace ctsock {

class NetlinkSock : public Napi::ObjectWrap<NetlinkSock> {
 public:
  static Napi::Function Define(Napi::Env env);
  // openNetlink(opts) -> socket object | error value
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit NetlinkSock(const Napi::CallbackInfo& info);
  ~NetlinkSock() override;

 private:
  // Receive arena: kSlots datagrams of kSlotSize bytes per recvmmsg call.
  static constexpr unsigned kSlots = 16;
  static constexpr size_t kSlotSize = 64 * 1024;

  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendOne(const Napi::CallbackInfo& info);
  Napi::Value SendAsync(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value GetOption(const Napi::CallbackInfo& info);
  Napi::Value Membership(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);

  static void OnReadable(void* self, int status);
  void ReadBatch(Napi::Env env);
  bool Flush(Napi::Env env);  // false when the socket was stopped/closed meanwhile
  bool EmitError(Napi::Env env, int err, const char* op);
  void StopPolling();
  void CloseFd();

  int fd_ = -1;
  bool started_ = false;
  bool refHeld_ = false;
  uint32_t maxDatagrams_ = 256;
  size_t maxBytes_ = 16u << 20;
  Poller poller_;
  Napi::FunctionReference onData_;
  Napi::FunctionReference onError_;

  std::vector<uint8_t> slab_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_nl> from_;
  std::vector<uint8_t> acc_;
  std::vector<uint32_t> lens_;

  struct {
    double wakeups = 0, datagrams = 0, bytes = 0, enobufs = 0, truncated = 0, foreign = 0, errors = 0;
  } stats_;
};

}  // namespace ctsock
