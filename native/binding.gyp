{
  "targets": [
    {
      "target_name": "fiveband_native",
      "sources": ["src/addon.cc", "src/kernels.cc", "src/elementwise.cc", "src/deeplift.cc", "src/random.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-ffp-contract=off"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
