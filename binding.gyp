{
  "targets": [
    {
      "target_name": "ctsock",
      "sources": ["native/ctsock.cc", "native/common.cc", "native/netlink.cc", "native/raw.cc", "native/raw-util.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
