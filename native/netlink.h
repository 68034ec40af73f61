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

class ThreadReader;  // netlink.cc: drains the socket on its own thread

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
  // Queue capacity kept between threaded deliveries; larger ones are freed.
  static constexpr size_t kKeepBytes = 1u << 20;

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
  static void OnTimer(uv_timer_t* t);
  // Reads one batch; returns the datagrams read (0: the socket was empty).
  uint32_t ReadBatch(Napi::Env env);
  // After a batch with data: read again when the coalescing timer fires, not
  // at the next readiness (see coalesceMs_).
  void Coalesce(uint32_t got);
  void StopTimer();
  void CloseTimer();
  // Threaded mode (readerThread): a thread drains the socket into memory and
  // the loop is told through a uv_async; OnThreaded delivers on the loop.
  static void OnThreaded(void* self);
  void StopReader();
  bool Flush(Napi::Env env);  // false when the socket was stopped/closed meanwhile
  bool EmitError(Napi::Env env, int err, const char* op);
  void StopPolling();
  void CloseFd();

  int fd_ = -1;
  bool started_ = false;
  bool refHeld_ = false;
  uint32_t maxDatagrams_ = 256;
  // coalesceMs > 0: once a wakeup has read data, stop polling and read again
  // after this many ms (then again while there is data, else poll again). A
  // busy event socket is then read in large batches instead of a few events
  // per wakeup (syscalls, context switches and JS calls per event fall); the
  // first event of a burst is still read at once. ENOBUFS is seen by the
  // timed reads as by the polled ones.
  uint32_t coalesceMs_ = 0;
  struct TimerBox {
    uv_timer_t timer;
    NetlinkSock* owner;
  };
  TimerBox* timer_ = nullptr;  // freed in its uv_close callback
  bool handleRef_ = true;
  // readerThread: a reading thread keeps the kernel's queue short while JS is
  // busy (GC, a long batch): a burst then waits in user memory (~300 B per
  // event) instead of the socket buffer (one skb of 1-2 KB each), so it
  // overruns only when `readerQueueBytes` are queued and unread.
  bool readerThread_ = false;
  size_t readerQueueBytes_ = 256u << 20;
  ThreadReader* reader_ = nullptr;
  // Taken from the reader, delivered maxDatagrams_ at a time.
  std::vector<uint8_t> pendAcc_;
  std::vector<uint32_t> pendLens_;
  size_t pendPos_ = 0;
  size_t pendOff_ = 0;      // ref()/unref(): whether the poll and timer handles keep the loop alive
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
