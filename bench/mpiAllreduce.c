/*
 * The C baseline for bench/mpiAllreduce.ts: the same measurement (fill, barrier, timed in-place
 * MPI_Allreduce sum on floats, slowest rank's time, median) without Node, to tell the cost of the
 * N-API layer from the cost of MPI itself.
 *   mpicc -O2 bench/mpiAllreduce.c -o /tmp/mpi-allreduce && mpirun --oversubscribe -np 2 /tmp/mpi-allreduce 50
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size, reps = argc > 1 ? atoi(argv[1]) : 30;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int sizes[] = {1, 1024, 65536, 1 << 20, 4 << 20};
  if (rank == 0) printf("| floats | median | min |\n|---|---|---|\n");
  for (int s = 0; s < 5; s++) {
    int n = sizes[s];
    float *buf = malloc(sizeof(float) * (size_t)n);
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = -3; r < reps; r++) {
      for (int i = 0; i < n; i++) buf[i] = 1;
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      double dt = MPI_Wtime() - t0;
      if (buf[0] != size || buf[n - 1] != size) MPI_Abort(MPI_COMM_WORLD, 2);
      MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (r >= 0) t[r] = dt;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    if (rank == 0) printf("| %d | %.1f µs | %.1f µs |\n", n, t[reps / 2] * 1e6, t[0] * 1e6);
    free(buf);
    free(t);
  }
  MPI_Finalize();
  return 0;
}
