// See netlink.h. Socket options are from include/uapi/linux/netlink.h.
#include "netlink.h"

#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace ctsock {

// Drains a netlink socket on its own thread into a queue in memory; the loop
// thread is woken through a uv_async and takes the queue in one swap. The
// thread only reads: it never calls into JS. Lifetime: owned by the socket;
// Stop() joins the thread, then the async handle is closed and the object is
// freed in the close callback (after the loop is done with it).
class ThreadReader {
 public:
  using Deliver = void (*)(void* owner);
  ThreadReader(int fd, size_t maxQueue, void* owner, Deliver deliver) : fd_(fd), maxQueue_(maxQueue), owner_(owner), deliver_(deliver) {}

  // 0 or a negative libuv / errno value.
  int Start(uv_loop_t* loop, bool ref) {
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0) return -errno;
    uv_mutex_init(&mu_);
    int r = uv_async_init(loop, &async_, &ThreadReader::OnAsync);
    if (r < 0) {
      close(wake_);
      uv_mutex_destroy(&mu_);
      return r;
    }
    async_.data = this;
    asyncInit_ = true;
    if (!ref) uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    r = uv_thread_create(&thread_, &ThreadReader::Run, this);
    if (r < 0) {
      close(wake_);
      uv_mutex_destroy(&mu_);
      return r;  // Stop() closes the handle and frees this object
    }
    running_ = true;
    return 0;
  }

  // Joins the thread and frees this object once the loop has closed the handle.
  void Stop() {
    owner_ = nullptr;
    if (running_) {
      stop_.store(true);
      Wake();
      uv_thread_join(&thread_);
      running_ = false;
      close(wake_);
      uv_mutex_destroy(&mu_);
      uv_close(reinterpret_cast<uv_handle_t*>(&async_), [](uv_handle_t* h) { delete static_cast<ThreadReader*>(h->data); });
    } else if (asyncInit_) {
      uv_close(reinterpret_cast<uv_handle_t*>(&async_), [](uv_handle_t* h) { delete static_cast<ThreadReader*>(h->data); });
    } else {
      delete this;
    }
  }

  void SetRef(bool ref) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&async_);
    if (ref) uv_ref(h); else uv_unref(h);
  }

  // Loop thread: everything queued so far (datagrams back to back, their
  // lengths, errors); the thread resumes reading if the queue was full.
  void Take(std::vector<uint8_t>* acc, std::vector<uint32_t>* lens, std::vector<int>* errs) {
    uv_mutex_lock(&mu_);
    acc->swap(acc_);
    lens->swap(lens_);
    errs->swap(errs_);
    bool wasFull = full_;
    full_ = false;
    uv_mutex_unlock(&mu_);
    acc_.clear();
    lens_.clear();
    errs_.clear();
    if (wasFull) Wake();
  }

  void Kick() { uv_async_send(&async_); }

  std::atomic<double> datagrams{0}, bytes{0}, truncated{0}, foreign{0};

 private:
  static void OnAsync(uv_async_t* a) {
    auto* self = static_cast<ThreadReader*>(a->data);
    if (self != nullptr && self->owner_ != nullptr) self->deliver_(self->owner_);
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t w = write(wake_, &one, sizeof one);
    (void)w;
  }

  static void Run(void* arg) { static_cast<ThreadReader*>(arg)->Loop(); }

  void Loop() {
    constexpr unsigned kN = 16;
    constexpr size_t kSize = 64 * 1024;
    std::vector<uint8_t> slab(kN * kSize);
    std::vector<mmsghdr> msgs(kN);
    std::vector<iovec> iov(kN);
    std::vector<sockaddr_nl> from(kN);
    for (unsigned i = 0; i < kN; i++) {
      iov[i] = {slab.data() + i * kSize, kSize};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
    }
    while (!stop_.load()) {
      uv_mutex_lock(&mu_);
      bool full = full_;
      uv_mutex_unlock(&mu_);
      pollfd p[2] = {{wake_, POLLIN, 0}, {fd_, POLLIN, 0}};
      int r = poll(p, full ? 1 : 2, -1);
      if (r < 0 && errno != EINTR) break;
      if (p[0].revents & POLLIN) {
        uint64_t v;
        ssize_t rd = read(wake_, &v, sizeof v);
        (void)rd;
      }
      if (stop_.load()) break;
      if (full || !(p[1].revents & (POLLIN | POLLERR))) continue;
      for (unsigned i = 0; i < kN; i++) {
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
        msgs[i].msg_hdr.msg_flags = 0;
        msgs[i].msg_len = 0;
      }
      int n = recvmmsg(fd_, msgs.data(), kN, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        int e = errno;
        if (e == EINTR || e == EAGAIN || e == EWOULDBLOCK) continue;
        uv_mutex_lock(&mu_);
        errs_.push_back(e);
        uv_mutex_unlock(&mu_);
        Kick();
        if (e == ENOBUFS) continue;
        break;  // the socket is unusable: the owner learns it from the error
      }
      uv_mutex_lock(&mu_);
      for (int i = 0; i < n; i++) {
        const mmsghdr& m = msgs[i];
        if (m.msg_hdr.msg_flags & MSG_TRUNC) {
          truncated.store(truncated.load() + 1);
          if (std::find(errs_.begin(), errs_.end(), EMSGSIZE) == errs_.end()) errs_.push_back(EMSGSIZE);
          continue;
        }
        if (from[i].nl_pid != 0) {
          foreign.store(foreign.load() + 1);
          continue;
        }
        const uint8_t* d = slab.data() + i * kSize;
        acc_.insert(acc_.end(), d, d + m.msg_len);
        lens_.push_back(m.msg_len);
        datagrams.store(datagrams.load() + 1);
        bytes.store(bytes.load() + m.msg_len);
      }
      if (acc_.size() >= maxQueue_) full_ = true;  // stop reading until the loop takes the queue
      uv_mutex_unlock(&mu_);
      if (n > 0) Kick();
      // Drained: let events gather for a millisecond (one read per event costs
      // a wakeup and a syscall each); a full batch means more is waiting.
      if (n < static_cast<int>(kN)) {
        pollfd w = {wake_, POLLIN, 0};
        poll(&w, 1, 1);
      }
    }
  }

  int fd_;
  int wake_ = -1;
  size_t maxQueue_;
  void* owner_;
  Deliver deliver_;
  uv_thread_t thread_{};
  uv_mutex_t mu_{};
  uv_async_t async_{};
  bool running_ = false;
  bool asyncInit_ = false;
  std::atomic<bool> stop_{false};
  // Guarded by mu_.
  std::vector<uint8_t> acc_;
  std::vector<uint32_t> lens_;
  std::vector<int> errs_;
  bool full_ = false;
};

Napi::Function NetlinkSock::Define(Napi::Env env) {
  return DefineClass(env, "NetlinkSock",
                     {
                         InstanceMethod("send", &NetlinkSock::Send),
                         InstanceMethod("sendOne", &NetlinkSock::SendOne),
                         InstanceMethod("sendAsync", &NetlinkSock::SendAsync),
                         InstanceMethod("start", &NetlinkSock::Start),
                         InstanceMethod("stop", &NetlinkSock::Stop),
                         InstanceMethod("close", &NetlinkSock::Close),
                         InstanceMethod("setOption", &NetlinkSock::SetOption),
                         InstanceMethod("getOption", &NetlinkSock::GetOption),
                         InstanceMethod("membership", &NetlinkSock::Membership),
                         InstanceMethod("stats", &NetlinkSock::Stats),
                         InstanceMethod("setRef", &NetlinkSock::SetRef),
                     });
}

// openNetlink({protocol, groups, rcvbuf, sndbuf, noEnobufs, broadcastError,
//              extAck, capAck, netns, maxDatagrams, maxBytes})
Napi::Value NetlinkSock::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return TypeError(env, "openNetlink(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  int protocol = static_cast<int>(GetInt(o, "protocol", -1));
  if (protocol < 0) return TypeError(env, "options.protocol required");

  int fd = -1, serr = 0;
  const char* op = "socket";
  int nerr = RunInNetns(GetString(o, "netns"), [&]() {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) serr = errno;
  }, &op);
  if (nerr != 0) return MakeError(env, nerr, op);
  if (fd < 0) return MakeError(env, serr, "socket");

  auto fail = [&](int err, const char* what) {
    close(fd);
    return MakeError(env, err, what);
  };
  int64_t rcv = GetInt(o, "rcvbuf", 0), snd = GetInt(o, "sndbuf", 0);
  if (rcv > 0) {
    int e = SetBufSize(fd, true, static_cast<int>(std::min<int64_t>(rcv, INT_MAX)));
    if (e) return fail(e, "setsockopt-rcvbuf");
  }
  if (snd > 0) {
    int e = SetBufSize(fd, false, static_cast<int>(std::min<int64_t>(snd, INT_MAX)));
    if (e) return fail(e, "setsockopt-sndbuf");
  }
  struct Flag { const char* key; int opt; const char* op; };
  const Flag flags[] = {
      {"noEnobufs", NETLINK_NO_ENOBUFS, "setsockopt-no-enobufs"},
      {"broadcastError", NETLINK_BROADCAST_ERROR, "setsockopt-broadcast-error"},
      {"extAck", NETLINK_EXT_ACK, "setsockopt-ext-ack"},
      {"capAck", NETLINK_CAP_ACK, "setsockopt-cap-ack"},
  };
  for (const Flag& f : flags) {
    if (!GetBool(o, f.key, false)) continue;
    int e = SetIntOpt(fd, SOL_NETLINK, f.opt, 1);
    if (e) return fail(e, f.op);
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns the port id
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return fail(errno, "bind");
  socklen_t alen = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) < 0) return fail(errno, "getsockname");
  Napi::Value groups = o.Get("groups");
  if (groups.IsArray()) {
    Napi::Array g = groups.As<Napi::Array>();
    for (uint32_t i = 0; i < g.Length(); i++) {
      Napi::Value gv = g.Get(i);
      if (!gv.IsNumber()) continue;
      int e = SetIntOpt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, gv.As<Napi::Number>().Int32Value());
      if (e) return fail(e, "setsockopt-add-membership");
    }
  }
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxDatagrams", GetInt(o, "maxDatagrams", 256));
  limits.Set("maxBytes", GetInt(o, "maxBytes", 16 << 20));
  limits.Set("coalesceMs", GetInt(o, "coalesceMs", 0));
  limits.Set("readerThread", GetBool(o, "readerThread", false));
  limits.Set("readerQueueBytes", GetInt(o, "readerQueueBytes", 256 << 20));
  limits.Set("portId", static_cast<double>(addr.nl_pid));
  return data->netlinkCtor.New({Napi::Number::New(env, fd), limits});
}

NetlinkSock::NetlinkSock(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSock>(info) {
  if (!info[0].IsNumber() || !info[1].IsObject()) {
    TypeError(info.Env(), "internal constructor");
    return;
  }
  fd_ = info[0].As<Napi::Number>().Int32Value();
  Napi::Object o = info[1].As<Napi::Object>();
  maxDatagrams_ = static_cast<uint32_t>(std::clamp<int64_t>(GetInt(o, "maxDatagrams", 256), 1, 1 << 20));
  maxBytes_ = static_cast<size_t>(std::clamp<int64_t>(GetInt(o, "maxBytes", 16 << 20), kSlotSize, 1 << 30));
  coalesceMs_ = static_cast<uint32_t>(std::clamp<int64_t>(GetInt(o, "coalesceMs", 0), 0, 1000));
  readerThread_ = GetBool(o, "readerThread", false);
  readerQueueBytes_ = static_cast<size_t>(std::clamp<int64_t>(GetInt(o, "readerQueueBytes", 256 << 20), 1 << 20, int64_t{1} << 34));
  info.This().As<Napi::Object>().Set("portId", o.Get("portId"));
}

NetlinkSock::~NetlinkSock() {
  StopReader();
  CloseTimer();
  poller_.Close();
  CloseFd();
}

void NetlinkSock::CloseFd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void NetlinkSock::StopReader() {
  if (reader_ == nullptr) return;
  ThreadReader* r = reader_;
  reader_ = nullptr;
  r->Stop();
}

void NetlinkSock::OnThreaded(void* self) {
  auto* s = static_cast<NetlinkSock*>(self);
  if (s->reader_ == nullptr || !s->started_) return;
  Napi::Env env = s->Env();
  Napi::HandleScope scope(env);
  s->Ref();  // the callbacks may close() and drop every other reference
  std::vector<int> errs;
  bool took = false;
  if (s->pendPos_ >= s->pendLens_.size()) {
    took = true;
    // A burst's backlog can be large; do not keep its capacity (it would stay
    // in the RSS and go back and forth with the reader at every swap).
    if (s->pendAcc_.capacity() > kKeepBytes) std::vector<uint8_t>().swap(s->pendAcc_);
    if (s->pendLens_.capacity() > kKeepBytes / 64) std::vector<uint32_t>().swap(s->pendLens_);
    s->pendAcc_.clear();
    s->pendLens_.clear();
    s->reader_->Take(&s->pendAcc_, &s->pendLens_, &errs);
    s->pendPos_ = 0;
    s->pendOff_ = 0;
    s->stats_.datagrams += static_cast<double>(s->pendLens_.size());
    s->stats_.bytes += static_cast<double>(s->pendAcc_.size());
  }
  // At most maxDatagrams_ per turn of the loop, as the polled reads: a large
  // backlog does not become one huge batch for JS (objects promoted, timers late).
  s->stats_.wakeups++;
  size_t n = std::min<size_t>(s->maxDatagrams_, s->pendLens_.size() - s->pendPos_);
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += s->pendLens_[s->pendPos_ + i];
  bool alive = true;
  if (n > 0) {
    s->acc_.assign(s->pendAcc_.begin() + static_cast<std::ptrdiff_t>(s->pendOff_), s->pendAcc_.begin() + static_cast<std::ptrdiff_t>(s->pendOff_ + bytes));
    s->lens_.assign(s->pendLens_.begin() + static_cast<std::ptrdiff_t>(s->pendPos_), s->pendLens_.begin() + static_cast<std::ptrdiff_t>(s->pendPos_ + n));
    s->pendPos_ += n;
    s->pendOff_ += bytes;
    alive = s->Flush(env);
  }
  for (int e : errs) {
    if (!alive) break;
    if (e == ENOBUFS) s->stats_.enobufs++; else if (e != EMSGSIZE) s->stats_.errors++;
    alive = s->EmitError(env, e, "recv");
  }
  // The rest next turn; and after the last chunk of an earlier take, look at
  // the queue again (the reader's wakeups meanwhile were spent on the chunks).
  if (alive && s->reader_ != nullptr && (s->pendPos_ < s->pendLens_.size() || !took)) s->reader_->Kick();
  s->Unref();
}

void NetlinkSock::StopPolling() {
  poller_.Stop();
  StopTimer();
  StopReader();
  started_ = false;
  onData_.Reset();
  onError_.Reset();
  if (refHeld_) {
    refHeld_ = false;
    Unref();
  }
}

Napi::Value NetlinkSock::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) return TypeError(env, "send(Buffer[])");
  if (fd_ < 0) return MakeError(env, EBADF, "send");
  Napi::Array arr = info[0].As<Napi::Array>();
  const size_t n = arr.Length();
  std::vector<iovec> iov(n);
  std::vector<mmsghdr> mm(n);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (size_t i = 0; i < n; i++) {
    uint8_t* p;
    size_t len;
    if (!GetBytes(arr.Get(i), &p, &len)) return TypeError(env, "send: not a Buffer");
    iov[i] = {p, len};
    mm[i] = {};
    mm[i].msg_hdr.msg_name = &kernel;
    mm[i].msg_hdr.msg_namelen = sizeof kernel;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  size_t done = 0;
  while (done < n) {
    unsigned batch = static_cast<unsigned>(std::min<size_t>(n - done, UIO_MAXIOV));
    int r = sendmmsg(fd_, mm.data() + done, batch, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      Napi::Object err = MakeError(env, errno, "send");
      err.Set("sent", static_cast<double>(done));
      return err;
    }
    done += static_cast<size_t>(r);
  }
  return env.Null();
}

namespace {

// sendmmsg of the given datagrams to the kernel on a threadpool thread. The
// worker owns a dup() of the socket (a close() of the original meanwhile cannot
// make it write to a reused fd) and a reference to the array of Buffers (their
// memory stays alive and unmoved until the callback). Result on the main
// thread: cb(null, sent) or cb({code, errno, op: 'send', sent}, sent).
class SendWorker : public Napi::AsyncWorker {
 public:
  SendWorker(Napi::Function cb, int fd, Napi::Array arr, std::vector<iovec> iov)
      : Napi::AsyncWorker(cb, "ctsock.sendAsync"), fd_(fd), iov_(std::move(iov)), mm_(iov_.size()) {
    keep_ = Napi::Persistent(arr.As<Napi::Object>());
    kernel_.nl_family = AF_NETLINK;
    for (size_t i = 0; i < iov_.size(); i++) {
      mm_[i] = {};
      mm_[i].msg_hdr.msg_name = &kernel_;
      mm_[i].msg_hdr.msg_namelen = sizeof kernel_;
      mm_[i].msg_hdr.msg_iov = &iov_[i];
      mm_[i].msg_hdr.msg_iovlen = 1;
    }
  }
  ~SendWorker() override {
    if (fd_ >= 0) close(fd_);
  }

  void Execute() override {
    const size_t n = mm_.size();
    while (sent_ < n) {
      unsigned batch = static_cast<unsigned>(std::min<size_t>(n - sent_, UIO_MAXIOV));
      int r = sendmmsg(fd_, mm_.data() + sent_, batch, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        err_ = errno;
        return;
      }
      sent_ += static_cast<size_t>(r);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value e = env.Null();
    if (err_ != 0) {
      Napi::Object o = MakeError(env, err_, "send");
      o.Set("sent", static_cast<double>(sent_));
      e = o;
    }
    keep_.Reset();
    Callback().Call({e, Napi::Number::New(env, static_cast<double>(sent_))});
  }

 private:
  int fd_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> mm_;
  sockaddr_nl kernel_{};
  Napi::ObjectReference keep_;
  size_t sent_ = 0;
  int err_ = 0;
};

}  // namespace

// sendAsync(Buffer[], cb): like send(), but sendmmsg runs on the libuv
// threadpool; returns null (cb will be called) or an error value (cb will not).
Napi::Value NetlinkSock::SendAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsFunction()) return TypeError(env, "sendAsync(Buffer[], cb)");
  if (fd_ < 0) return MakeError(env, EBADF, "send");
  Napi::Array arr = info[0].As<Napi::Array>();
  const size_t n = arr.Length();
  std::vector<iovec> iov(n);
  for (size_t i = 0; i < n; i++) {
    uint8_t* p;
    size_t len;
    if (!GetBytes(arr.Get(i), &p, &len)) return TypeError(env, "sendAsync: not a Buffer");
    iov[i] = {p, len};
  }
  int fd = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return MakeError(env, errno, "dup");
  auto* w = new SendWorker(info[1].As<Napi::Function>(), fd, arr, std::move(iov));
  w->Queue();
  return env.Null();
}

// All parts go out as ONE datagram; the kernel processes each netlink message in it.
Napi::Value NetlinkSock::SendOne(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) return TypeError(env, "sendOne(Buffer[])");
  if (fd_ < 0) return MakeError(env, EBADF, "send");
  Napi::Array arr = info[0].As<Napi::Array>();
  const size_t n = arr.Length();
  std::vector<iovec> iov(n);
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t* p;
    size_t len;
    if (!GetBytes(arr.Get(i), &p, &len)) return TypeError(env, "sendOne: not a Buffer");
    iov[i] = {p, len};
    total += len;
  }
  std::vector<uint8_t> joined;
  if (n > UIO_MAXIOV) {  // the kernel caps iovec count; join into one piece
    joined.reserve(total);
    for (const iovec& v : iov) joined.insert(joined.end(), static_cast<uint8_t*>(v.iov_base),
                                             static_cast<uint8_t*>(v.iov_base) + v.iov_len);
    iov.assign(1, iovec{joined.data(), joined.size()});
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr mh{};
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  for (;;) {
    ssize_t r = sendmsg(fd_, &mh, 0);
    if (r >= 0) return env.Null();
    if (errno != EINTR) return MakeError(env, errno, "send");
  }
}

Napi::Value NetlinkSock::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction() || !info[1].IsFunction()) return TypeError(env, "start(onData, onError)");
  if (fd_ < 0) return MakeError(env, EBADF, "start");
  onData_ = Napi::Persistent(info[0].As<Napi::Function>());
  onError_ = Napi::Persistent(info[1].As<Napi::Function>());
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  if (readerThread_ && reader_ == nullptr) {
    auto* rd = new ThreadReader(fd_, readerQueueBytes_, this, &NetlinkSock::OnThreaded);
    if (rd->Start(loop, handleRef_) == 0) {
      reader_ = rd;
      started_ = true;
      if (!refHeld_) {
        refHeld_ = true;
        Ref();
      }
      return env.Null();
    }
    rd->Stop();  // could not start a thread: poll on the loop instead
  }
  if (slab_.empty()) {
    slab_.resize(kSlots * kSlotSize);
    msgs_.resize(kSlots);
    iov_.resize(kSlots);
    from_.resize(kSlots);
    for (unsigned i = 0; i < kSlots; i++) {
      iov_[i] = {slab_.data() + i * kSlotSize, kSlotSize};
      msgs_[i] = {};
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &from_[i];
    }
  }
  int r = poller_.Start(loop, fd_, this, &NetlinkSock::OnReadable);
  if (r < 0) {
    StopPolling();
    return MakeError(env, -r, "poll");
  }
  started_ = true;
  if (!refHeld_) {  // keep the JS object alive while it can receive
    refHeld_ = true;
    Ref();
  }
  return env.Null();
}

Napi::Value NetlinkSock::Stop(const Napi::CallbackInfo& info) {
  StopPolling();
  return info.Env().Undefined();
}

Napi::Value NetlinkSock::Close(const Napi::CallbackInfo& info) {
  StopPolling();
  CloseTimer();
  poller_.Close();
  CloseFd();
  return info.Env().Undefined();
}

Napi::Value NetlinkSock::SetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) return TypeError(env, "setOption(level, name, value)");
  if (fd_ < 0) return MakeError(env, EBADF, "setsockopt");
  int level = info[0].As<Napi::Number>().Int32Value();
  int name = info[1].As<Napi::Number>().Int32Value();
  int value = info[2].As<Napi::Number>().Int32Value();
  int e = (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
              ? SetBufSize(fd_, name == SO_RCVBUF, value)
              : SetIntOpt(fd_, level, name, value);
  return e ? Napi::Value(MakeError(env, e, "setsockopt")) : env.Null();
}

Napi::Value NetlinkSock::GetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) return TypeError(env, "getOption(level, name)");
  if (fd_ < 0) return MakeError(env, EBADF, "getsockopt");
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd_, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &value, &len) < 0)
    return MakeError(env, errno, "getsockopt");
  return Napi::Number::New(env, value);
}

// membership(group, join)
Napi::Value NetlinkSock::Membership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsBoolean()) return TypeError(env, "membership(group, join)");
  if (fd_ < 0) return MakeError(env, EBADF, "setsockopt");
  bool join = info[1].As<Napi::Boolean>().Value();
  int e = SetIntOpt(fd_, SOL_NETLINK, join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
                    info[0].As<Napi::Number>().Int32Value());
  return e ? Napi::Value(MakeError(env, e, join ? "add-membership" : "drop-membership")) : env.Null();
}

Napi::Value NetlinkSock::Stats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("wakeups", stats_.wakeups);
  o.Set("datagrams", stats_.datagrams);
  o.Set("bytes", stats_.bytes);
  o.Set("enobufs", stats_.enobufs);
  o.Set("truncated", stats_.truncated + (reader_ != nullptr ? reader_->truncated.load() : 0));
  o.Set("foreign", stats_.foreign + (reader_ != nullptr ? reader_->foreign.load() : 0));
  o.Set("errors", stats_.errors);
  return o;
}

Napi::Value NetlinkSock::SetRef(const Napi::CallbackInfo& info) {
  handleRef_ = info[0].ToBoolean().Value();
  poller_.SetRef(handleRef_);
  if (reader_ != nullptr) reader_->SetRef(handleRef_);
  if (timer_ != nullptr) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&timer_->timer);
    if (handleRef_) uv_ref(h); else uv_unref(h);
  }
  return info.Env().Undefined();
}

void NetlinkSock::OnReadable(void* self, int status) {
  auto* s = static_cast<NetlinkSock*>(self);
  Napi::Env env = s->Env();
  Napi::HandleScope scope(env);
  s->Ref();  // the callbacks may close() and drop every other reference
  if (status < 0) {
    // EPOLLERR: libuv reports UV_EBADF and stops the handle. On a netlink
    // socket this means sk_err is set (ENOBUFS after an overrun): fetch it,
    // report it and read on (Poller re-arms the handle).
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    bool alive = true;
    if (err != 0) {
      if (err == ENOBUFS) s->stats_.enobufs++; else s->stats_.errors++;
      alive = s->EmitError(env, err, "recv");
    }
    if (alive) s->Coalesce(s->ReadBatch(env));
  } else {
    s->Coalesce(s->ReadBatch(env));
  }
  s->Unref();
}

void NetlinkSock::Coalesce(uint32_t got) {
  if (coalesceMs_ == 0 || !started_ || fd_ < 0) return;
  if (got == 0) {
    // Nothing came: back to waiting for readiness.
    StopTimer();
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(Env(), &loop);
    if (poller_.Start(loop, fd_, this, &NetlinkSock::OnReadable) < 0) stats_.errors++;
    return;
  }
  if (timer_ == nullptr) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(Env(), &loop);
    timer_ = new TimerBox();
    timer_->owner = this;
    timer_->timer.data = timer_;
    if (uv_timer_init(loop, &timer_->timer) < 0) {
      delete timer_;
      timer_ = nullptr;
      return;  // keep polling as without coalescing
    }
    if (!handleRef_) uv_unref(reinterpret_cast<uv_handle_t*>(&timer_->timer));
  }
  poller_.Stop();
  uv_timer_start(&timer_->timer, &NetlinkSock::OnTimer, coalesceMs_, 0);
}

void NetlinkSock::OnTimer(uv_timer_t* t) {
  auto* box = static_cast<TimerBox*>(t->data);
  NetlinkSock* s = box == nullptr ? nullptr : box->owner;
  if (s == nullptr || !s->started_ || s->fd_ < 0) return;
  Napi::Env env = s->Env();
  Napi::HandleScope scope(env);
  s->Ref();
  s->Coalesce(s->ReadBatch(env));
  s->Unref();
}

void NetlinkSock::StopTimer() {
  if (timer_ != nullptr) uv_timer_stop(&timer_->timer);
}

void NetlinkSock::CloseTimer() {
  if (timer_ == nullptr) return;
  uv_timer_stop(&timer_->timer);
  timer_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer), [](uv_handle_t* h) { delete static_cast<TimerBox*>(h->data); });
  timer_ = nullptr;
}

bool NetlinkSock::EmitError(Napi::Env env, int err, const char* op) {
  CallJs(env, onError_, {MakeError(env, err, op)});
  return started_ && fd_ >= 0;
}

bool NetlinkSock::Flush(Napi::Env env) {
  if (!lens_.empty()) {
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, acc_.data(), acc_.size());
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, lens_.size() * sizeof(uint32_t));
    memcpy(ab.Data(), lens_.data(), lens_.size() * sizeof(uint32_t));
    Napi::Uint32Array lens = Napi::Uint32Array::New(env, lens_.size(), ab, 0);
    acc_.clear();
    lens_.clear();
    CallJs(env, onData_, {buf, lens});
  }
  return started_ && fd_ >= 0;
}

// Read until EAGAIN or the per-wakeup cap; hand JS one Buffer + datagram lengths.
uint32_t NetlinkSock::ReadBatch(Napi::Env env) {
  stats_.wakeups++;
  acc_.clear();
  lens_.clear();
  uint32_t count = 0;
  bool truncated = false;
  while (started_ && fd_ >= 0 && count < maxDatagrams_ && acc_.size() < maxBytes_) {
    unsigned want = std::min<unsigned>(kSlots, maxDatagrams_ - count);
    for (unsigned i = 0; i < want; i++) {
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
      msgs_[i].msg_hdr.msg_flags = 0;
      msgs_[i].msg_len = 0;
    }
    int n = recvmmsg(fd_, msgs_.data(), want, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break;
      // Deliver what came before the overrun, then the error; keep reading
      // after ENOBUFS (the socket is usable, events were lost).
      if (!Flush(env)) return count;
      if (e == ENOBUFS) stats_.enobufs++; else stats_.errors++;
      if (!EmitError(env, e, "recv")) return count;
      if (e == ENOBUFS) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      count++;
      const mmsghdr& m = msgs_[i];
      if (m.msg_hdr.msg_flags & MSG_TRUNC) {
        stats_.truncated++;
        truncated = true;
        continue;
      }
      if (from_[i].nl_pid != 0) {  // only the kernel may talk to us
        stats_.foreign++;
        continue;
      }
      const uint8_t* p = slab_.data() + i * kSlotSize;
      acc_.insert(acc_.end(), p, p + m.msg_len);
      lens_.push_back(m.msg_len);
      stats_.datagrams++;
      stats_.bytes += m.msg_len;
    }
  }
  if (!Flush(env)) return count;
  if (truncated) EmitError(env, EMSGSIZE, "recv");
  return count;
}

}  // namespace ctsock
