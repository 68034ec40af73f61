// See common.h.
#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace ctsock {

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* n = strerrorname_np(err);
  if (n != nullptr) return n;
#endif
  return "E" + std::to_string(err);
}

Napi::Object MakeError(Napi::Env env, int err, const char* op) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", ErrnoName(err));
  o.Set("errno", err);
  o.Set("op", op);
  return o;
}

int RunInNetns(const std::string& path, const std::function<void()>& fn, const char** op) {
  if (path.empty()) {
    fn();
    return 0;
  }
  int err = 0;
  // setns() changes the namespace of the calling thread only; doing it on a
  // throwaway thread means the event-loop thread can never be left behind in
  // the wrong namespace. Sockets keep the namespace they were created in.
  std::thread t([&]() {
    int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      err = errno;
      *op = "open-netns";
      return;
    }
    if (setns(nsfd, CLONE_NEWNET) < 0) {
      err = errno;
      *op = "setns";
      close(nsfd);
      return;
    }
    close(nsfd);
    fn();
  });
  t.join();
  return err;
}

int64_t GetInt(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) return dflt;
  return v.As<Napi::Number>().Int64Value();
}

bool GetBool(const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) return dflt;
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) return std::string();
  return v.As<Napi::String>().Utf8Value();
}

int SetIntOpt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) return errno;
  return 0;
}

void CallJs(Napi::Env env, const Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
  if (fn.IsEmpty()) return;
  fn.MakeCallback(env.Global(), args);  // recv must be an object
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

int Poller::Start(uv_loop_t* loop, int fd, void* owner, Callback cb) {
  if (h_ == nullptr) {
    h_ = new Handle();
    int r = uv_poll_init(loop, &h_->poll, fd);
    if (r < 0) {
      delete h_;
      h_ = nullptr;
      return r;
    }
    h_->poll.data = h_;
    if (!ref_) uv_unref(reinterpret_cast<uv_handle_t*>(&h_->poll));
  }
  h_->owner = owner;
  h_->cb = cb;
  h_->active = true;
  int r = uv_poll_start(&h_->poll, UV_READABLE, OnPoll);
  if (r < 0) h_->active = false;
  return r;
}

void Poller::Stop() {
  if (h_ == nullptr) return;
  h_->active = false;
  uv_poll_stop(&h_->poll);
}

void Poller::Close() {
  if (h_ == nullptr) return;
  uv_poll_stop(&h_->poll);
  h_->active = false;
  h_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&h_->poll),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
  h_ = nullptr;
}

void Poller::SetRef(bool ref) {
  ref_ = ref;
  if (h_ == nullptr) return;
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&h_->poll);
  if (ref) uv_ref(h); else uv_unref(h);
}

void Poller::OnPoll(uv_poll_t* p, int status, int /*events*/) {
  Handle* h = static_cast<Handle*>(p->data);
  if (h == nullptr || h->owner == nullptr) return;
  // On EPOLLERR (a netlink overrun sets sk_err) libuv has already stopped the
  // handle. Re-arm it BEFORE the owner's callback: the callback runs JS that may
  // stop or close the socket (which then wins), and nothing it does may leave a
  // live socket unpolled. The handle memory outlives this call (freed only in
  // the uv_close callback).
  if (status < 0 && h->active && uv_poll_start(p, UV_READABLE, OnPoll) < 0) h->active = false;
  h->cb(h->owner, status);
}

}  // namespace ctsock

namespace ctsock {

bool GetBytes(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

int SetBufSize(int fd, bool rcv, int bytes) {
  if (SetIntOpt(fd, SOL_SOCKET, rcv ? SO_RCVBUFFORCE : SO_SNDBUFFORCE, bytes) == 0) return 0;
  return SetIntOpt(fd, SOL_SOCKET, rcv ? SO_RCVBUF : SO_SNDBUF, bytes);
}

Napi::Value TypeError(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace ctsock
