// Placeholder: the socket addon is being written (see src/netlink/socket.ts for its interface).
#include <napi.h>
Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(ctsock, Init)
