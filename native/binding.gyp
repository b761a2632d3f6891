# node-gyp build of the native kernel provider (issue 8); driven by scripts/build-native.mjs, which
# probes for a C compiler and OpenBLAS first and passes the BLAS flags in KDREC_BLAS_CFLAGS /
# KDREC_BLAS_LIBS. The default build is portable (-O3, baseline ISA of the target); set
# KDREC_NATIVE_MARCH=native at build time to tune for the build machine's CPU.
# -fno-trapping-math: kdrec never enables floating-point traps, and without this flag GCC will not
# if-convert (and so not vectorise) the branch-free ReLU loops: it emits a mispredicting branch.
{
  "targets": [
    {
      "target_name": "kdrec_native",
      "sources": ["src/kdrec_native.c"],
      "cflags": [
        "-O3",
        "-std=c11",
        "-fno-math-errno",
        "-fno-trapping-math",
        "<!@(node -p \"process.env.KDREC_BLAS_CFLAGS || ''\")",
        "<!@(node -p \"process.env.KDREC_NATIVE_MARCH ? '-march=' + process.env.KDREC_NATIVE_MARCH : ''\")"
      ],
      "cflags!": ["-O2", "-O0"],
      "libraries": ["<!@(node -p \"process.env.KDREC_BLAS_LIBS || '-lopenblas'\")"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": [
          "-fno-math-errno",
          "-fno-trapping-math",
          "<!@(node -p \"process.env.KDREC_BLAS_CFLAGS || ''\")",
          "<!@(node -p \"process.env.KDREC_NATIVE_MARCH ? '-march=' + process.env.KDREC_NATIVE_MARCH : ''\")"
        ]
      }
    }
  ]
}
