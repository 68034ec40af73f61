// Helpers for raw.cc (see raw-util.cc).
#pragma once

#include <string>

#include "common.h"

namespace ctsock {

// Interface index through an ioctl on fd (so it resolves in the socket's
// namespace). 0 when unknown.
int IfIndexOnSocket(int fd, const std::string& name);
// "aa:bb:cc:dd:ee:ff" -> 6 bytes; empty text is the broadcast address.
bool ParseMac(const std::string& s, uint8_t out[6]);
std::string FormatMac(const uint8_t* a, unsigned len);
// inet_ntop; '' on failure.
std::string AddrText(int family, const void* addr);
// Apply the inet options in o (recv metadata, ttl, multicast loop/if,
// IPv6 checksum offset, bind address). Returns 0 or errno with *op set.
int ConfigureInet(int fd, int family, const Napi::Object& o, int ifindex, const char** op);

}  // namespace ctsock
