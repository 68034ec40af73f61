// Shared pieces of the ctsock addon: errors as values, namespace switching,
// and the poll handle that every socket class owns.
//
// Conventions (whole addon):
//  - No C++ exceptions (NAPI_DISABLE_CPP_EXCEPTIONS). An I/O failure becomes a
//    JS value {code, errno, op}; only programming errors (wrong argument types
//    from our own TS wrapper) throw a JS TypeError.
//  - Every fd is non-blocking and close-on-exec; reads happen only when libuv
//    reports the fd readable.
//  - No static mutable state: per-environment data lives in AddonData.
#pragma once

#include <napi.h>
#include <uv.h>

#include <functional>
#include <string>

namespace ctsock {

// Per-environment data (env.SetInstanceData): constructors of the socket classes.
struct AddonData {
  Napi::FunctionReference netlinkCtor;
  Napi::FunctionReference rawCtor;
};

// errno -> "ENOBUFS". Falls back to "E<n>" for unknown numbers.
std::string ErrnoName(int err);

// JS error value {code, errno, op}.
Napi::Object MakeError(Napi::Env env, int err, const char* op);

// Run fn on a short-lived thread that has joined the network namespace at
// `path` (empty path: run on the calling thread). The calling thread never
// changes namespace. Returns 0, or the errno of open()/setns() with *op set.
int RunInNetns(const std::string& path, const std::function<void()>& fn, const char** op);

// Read optional properties from an options object.
int64_t GetInt(const Napi::Object& o, const char* key, int64_t dflt);
bool GetBool(const Napi::Object& o, const char* key, bool dflt);
std::string GetString(const Napi::Object& o, const char* key);

// setsockopt(int) returning 0 or errno.
int SetIntOpt(int fd, int level, int name, int value);

// Calls a JS function through napi_make_callback (so microtasks run after it).
// An exception thrown by the callback is re-raised as an uncaught exception,
// exactly as Node does for throwing event handlers.
void CallJs(Napi::Env env, const Napi::FunctionReference& fn, std::initializer_list<napi_value> args);

// A libuv poll handle on one fd. libuv stops the handle when epoll reports
// EPOLLERR (socket error pending, e.g. ENOBUFS) and calls back with UV_EBADF;
// the Poller re-arms it after the owner's callback unless the owner stopped it.
// The handle has a lifetime independent of its owner: // the handle memory is freed in the uv_close callback, after the owner may be
// gone, and the owner pointer is cleared before closing.
class Poller {
 public:
  using Callback = void (*)(void* owner, int status);
  Poller() = default;
  ~Poller() { Close(); }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Returns 0 or a libuv error (negative errno).
  int Start(uv_loop_t* loop, int fd, void* owner, Callback cb);
  void Stop();
  void Close();
  void SetRef(bool ref);

 private:
  struct Handle {
    uv_poll_t poll;
    void* owner;
    Callback cb;
    bool active;
  };
  static void OnPoll(uv_poll_t* h, int status, int events);
  Handle* h_ = nullptr;
  bool ref_ = true;
};

}  // namespace ctsock

namespace ctsock {
// Pointer and length of a Buffer / Uint8Array argument; false if it is not one.
bool GetBytes(const Napi::Value& v, uint8_t** data, size_t* len);
// SO_RCVBUF / SO_SNDBUF, forced past rmem_max/wmem_max with the *FORCE
// variant when permitted (CAP_NET_ADMIN). Returns 0 or errno.
int SetBufSize(int fd, bool rcv, int bytes);
// Throw a TypeError (argument misuse by our own wrapper; never for I/O).
Napi::Value TypeError(Napi::Env env, const char* msg);
}  // namespace ctsock
