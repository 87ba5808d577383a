{
  "targets": [
    {
      "target_name": "prunebench_onednn",
      "sources": [
        "src/addon.cc",
        "src/heap.cc",
        "src/conv.cc",
        "src/bnorm.cc",
        "src/pool.cc",
        "src/copy.cc",
        "src/sgd.cc"
      ],
      "include_dirs": [
        "src"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O3",
        "-fexceptions",
        "-fopenmp",
        "-ffp-contract=off",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "libraries": [
        "-ldnnl",
        "-fopenmp"
      ]
    }
  ]
}
