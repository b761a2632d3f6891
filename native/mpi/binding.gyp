# node-gyp build of the optional MPI addon (issue 16); driven by scripts/build-mpi.mjs, which probes
# for an MPI C toolchain first (`mpicc --showme:compile/link`, else `pkg-config ompi`/`mpich`) and
# passes its flags in KDREC_MPI_CFLAGS / KDREC_MPI_LIBS. The link flags carry an rpath for every
# -L directory, so a libmpi outside the loader's default paths (/opt/openmpi, a module system) is
# still found at run time without LD_LIBRARY_PATH.
{
  "targets": [
    {
      "target_name": "kdrec_mpi",
      "sources": ["src/kdrec_mpi.c"],
      "cflags": [
        "-O2",
        "-std=c11",
        "-Wall",
        "<!@(node -p \"process.env.KDREC_MPI_CFLAGS || ''\")"
      ],
      "libraries": ["<!@(node -p \"process.env.KDREC_MPI_LIBS || '-lmpi'\")"],
      "conditions": [["OS=='linux'", { "libraries": ["-ldl", "-lpthread"] }]],
      "xcode_settings": {
        "OTHER_CFLAGS": ["<!@(node -p \"process.env.KDREC_MPI_CFLAGS || ''\")"]
      }
    }
  ]
}
