/*
 * kdrec MPI addon (issue 16): the MPI collectives kdrec's multi-machine trainer runs on, bound to
 * Node through the plain C N-API (node_api.h, version 8: one binary for every Node >= 20). Launched
 * by `mpirun -np N kdrec ...` (or the Kubeflow MPI Operator, which runs mpirun), so there is no
 * network protocol of kdrec's own: the MPI library owns transport, process placement and failure
 * detection.
 *
 * Buffers are the typed arrays' own memory (napi_get_typedarray_info), so a collective copies
 * nothing on the Node side; an in-place allreduce passes MPI_IN_PLACE. Every count, displacement,
 * root and buffer length is checked BEFORE MPI is called, and a bad one throws a RangeError or
 * TypeError naming the function and the argument: a count that exceeds a buffer would make MPI write
 * past the end of the array, i.e. silent heap corruption inside Node. What cannot be checked locally
 * (two ranks disagreeing about a count) is caught by MPI itself: MPI_COMM_WORLD keeps the default
 * MPI_ERRORS_ARE_FATAL handler, so MPI reports the error (e.g. MPI_ERR_TRUNCATE) naming the rank and
 * the launcher ends the job; returning the error instead would leave the other ranks waiting in the
 * collective forever.
 *
 * Threads: MPI is initialised at MPI_THREAD_FUNNELED and every call must come from the thread that
 * called init (Node's main thread; the TypeScript wrapper refuses worker threads). The addon checks
 * this, because an MPI call from a second thread at FUNNELED level is undefined behaviour.
 *
 * Watchdog (optional, off by default): setTimeout(seconds) starts a thread that ends the process with
 * exit code 124 when one collective call has not returned after that many seconds, e.g. because a
 * peer is stuck in an endless loop or called a different collective. A dead peer does not need it
 * (mpirun notices the exit and kills the job); a live but stuck one would otherwise hang the job.
 */
#define NAPI_VERSION 8
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <node_api.h>
#include <mpi.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 8
#define TIMEOUT_EXIT_CODE 124 /* what timeout(1) uses for "timed out" */

static enum { ST_NONE, ST_INITIALIZED, ST_FINALIZED } state = ST_NONE;
static pthread_t init_thread;
static int world_rank = -1, world_size = 0;
/* Per-call scratch sized by world_size, allocated once by init: collectives run on one thread only
 * (FUNNELED, checked), so one set suffices, and a collective allocates nothing. */
static int32_t *scratch_displs = NULL; /* 2 × world_size: packed send and receive displacements */

/* ---------- errors ---------- */

static napi_value throw_range(napi_env env, const char *fn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static napi_value throw_range(napi_env env, const char *fn, const char *fmt, ...) {
  char body[400], msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  snprintf(msg, sizeof msg, "mpi.%s: %s", fn, body);
  napi_throw_range_error(env, "ERR_KDREC_MPI", msg);
  return NULL;
}

static napi_value throw_plain(napi_env env, const char *fn, const char *what) {
  char msg[480];
  snprintf(msg, sizeof msg, "mpi.%s: %s", fn, what);
  napi_throw_error(env, "ERR_KDREC_MPI", msg);
  return NULL;
}

/* An MPI call that returned an error: only reachable if someone replaced MPI_ERRORS_ARE_FATAL. */
static napi_value throw_mpi(napi_env env, const char *fn, const char *call, int rc) {
  char str[MPI_MAX_ERROR_STRING], what[MPI_MAX_ERROR_STRING + 64];
  int len = 0;
  if (MPI_Error_string(rc, str, &len) != MPI_SUCCESS) snprintf(str, sizeof str, "error code %d", rc);
  snprintf(what, sizeof what, "%s failed: %s", call, str);
  return throw_plain(env, fn, what);
}

/* ---------- arguments ---------- */

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int failed;
} Args;

/* Parses the call's arguments and checks that MPI is usable from this thread now. */
static int args_init(napi_env env, napi_callback_info info, Args *a, size_t want, const char *fn, int need_mpi) {
  a->env = env;
  a->fn = fn;
  a->failed = 0;
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok || a->argc < want) {
    char msg[160];
    snprintf(msg, sizeof msg, "mpi.%s: expected %zu arguments, got %zu", fn, want, a->argc);
    napi_throw_type_error(env, "ERR_KDREC_MPI", msg);
    return 0;
  }
  if (!need_mpi) return 1;
  if (state == ST_NONE) {
    throw_plain(env, fn, "MPI is not initialised (call init first)");
    return 0;
  }
  if (state == ST_FINALIZED) {
    throw_plain(env, fn, "MPI was finalised; no MPI call is allowed after finalize");
    return 0;
  }
  if (!pthread_equal(pthread_self(), init_thread)) {
    throw_plain(env, fn,
                "called from a thread other than the one that initialised MPI (MPI_THREAD_FUNNELED: "
                "collectives run on the main thread only)");
    return 0;
  }
  return 1;
}

static void arg_type_fail(Args *a, const char *name, const char *expected) {
  if (a->failed) return;
  char msg[240];
  snprintf(msg, sizeof msg, "mpi.%s: argument '%s' must be %s", a->fn, name, expected);
  napi_throw_type_error(a->env, "ERR_KDREC_MPI", msg);
  a->failed = 1;
}

/* A typed array usable as an MPI buffer. */
typedef struct {
  char *data;
  size_t len; /* elements */
  size_t esize;
  napi_typedarray_type type;
  MPI_Datatype dt;
  const char *type_name;
} Buf;

#define BUF_TYPES "a Float32Array, Int32Array or Float64Array"

static int arg_buf(Args *a, size_t i, const char *name, Buf *b) {
  bool is_ta = false;
  if (a->failed) return 0;
  if (napi_is_typedarray(a->env, a->argv[i], &is_ta) != napi_ok || !is_ta) {
    arg_type_fail(a, name, BUF_TYPES);
    return 0;
  }
  void *data = NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &b->type, &b->len, &data, NULL, NULL) != napi_ok) {
    arg_type_fail(a, name, BUF_TYPES);
    return 0;
  }
  b->data = data;
  switch (b->type) {
    case napi_float32_array:
      b->dt = MPI_FLOAT, b->esize = 4, b->type_name = "Float32Array";
      break;
    case napi_int32_array:
      b->dt = MPI_INT32_T, b->esize = 4, b->type_name = "Int32Array";
      break;
    case napi_float64_array:
      b->dt = MPI_DOUBLE, b->esize = 8, b->type_name = "Float64Array";
      break;
    default:
      arg_type_fail(a, name, BUF_TYPES);
      return 0;
  }
  if (b->len > (size_t)INT32_MAX) {
    char msg[200];
    snprintf(msg, sizeof msg, "mpi.%s: '%s' has %zu elements; MPI counts are limited to 2^31-1", a->fn, name, b->len);
    napi_throw_range_error(a->env, "ERR_KDREC_MPI", msg);
    a->failed = 1;
    return 0;
  }
  return 1;
}

/* An Int32Array of exactly world_size counts or displacements. */
static const int32_t *arg_per_rank(Args *a, size_t i, const char *name) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (a->failed) return NULL;
  if (napi_is_typedarray(a->env, a->argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    arg_type_fail(a, name, "an Int32Array with one entry per rank");
    return NULL;
  }
  if (len != (size_t)world_size) {
    char msg[200];
    snprintf(msg, sizeof msg, "mpi.%s: '%s' has %zu entries, must have one per rank (%d)", a->fn, name, len,
             world_size);
    napi_throw_range_error(a->env, "ERR_KDREC_MPI", msg);
    a->failed = 1;
    return NULL;
  }
  return data;
}

static int64_t arg_int(Args *a, size_t i, const char *name, int64_t lo, int64_t hi) {
  int64_t v = 0;
  napi_valuetype t;
  double d = 0;
  if (a->failed) return 0;
  if (napi_typeof(a->env, a->argv[i], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(a->env, a->argv[i], &d) != napi_ok || !(fabs(d) <= 9007199254740991.0) ||
      d != floor(d)) {
    arg_type_fail(a, name, "an integer");
    return 0;
  }
  v = (int64_t)d;
  if (v < lo || v > hi) {
    char msg[200];
    snprintf(msg, sizeof msg, "mpi.%s: '%s' = %lld is outside [%lld, %lld]", a->fn, name, (long long)v,
             (long long)lo, (long long)hi);
    napi_throw_range_error(a->env, "ERR_KDREC_MPI", msg);
    a->failed = 1;
  }
  return v;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

static int same_type(Args *a, const Buf *x, const char *xn, const Buf *y, const char *yn) {
  if (a->failed) return 0;
  if (x->type == y->type) return 1;
  throw_range(a->env, a->fn, "'%s' is a %s but '%s' is a %s; both must have the same element type", xn,
              x->type_name, yn, y->type_name);
  a->failed = 1;
  return 0;
}

/* MPI forbids a send buffer that overlaps the receive buffer (only MPI_IN_PLACE may alias them). */
static int disjoint(Args *a, const Buf *x, const char *xn, const Buf *y, const char *yn) {
  if (a->failed) return 0;
  if (x->len == 0 || y->len == 0) return 1;
  const char *x1 = x->data + x->len * x->esize, *y1 = y->data + y->len * y->esize;
  if (x->data < y1 && y->data < x1) {
    throw_range(a->env, a->fn, "'%s' and '%s' share memory; MPI forbids overlapping send and receive buffers", xn,
                yn);
    a->failed = 1;
    return 0;
  }
  return 1;
}

/* The send and receive buffers of a collective: typed arrays of one element type, not overlapping. */
static int arg_send_recv(Args *a, size_t is, size_t ir, Buf *send, Buf *recv) {
  arg_buf(a, is, "send", send);
  arg_buf(a, ir, "recv", recv);
  same_type(a, send, "send", recv, "recv");
  disjoint(a, send, "send", recv, "recv");
  return !a->failed;
}

typedef struct {
  int64_t lo, hi;
  int rank;
} Span;

static Span *scratch_spans = NULL; /* world_size entries */

static int span_cmp(const void *p, const void *q) {
  const Span *a = p, *b = q;
  return a->lo < b->lo ? -1 : a->lo > b->lo ? 1 : 0;
}

/*
 * Checks per-rank (count, displacement) blocks against a buffer of `len` elements: counts and
 * displacements non-negative, every block inside the buffer (count·unit elements from displ·unit),
 * and, for a receive buffer, no two blocks overlapping (MPI writes every block; an overlap is a
 * race on the same memory). NULL displs means the packed layout (exclusive prefix sums of counts),
 * which is written to `displs_out` so the caller can pass it to MPI.
 */
static int check_blocks(Args *a, const char *cname, const int32_t *counts, const char *dname,
                        const int32_t *displs, int32_t *displs_out, size_t len, const char *bname,
                        int receive) {
  if (a->failed) return 0;
  int64_t packed = 0;
  for (int r = 0; r < world_size; r++) {
    if (counts[r] < 0) {
      throw_range(a->env, a->fn, "%s[%d] = %d is negative", cname, r, counts[r]);
      a->failed = 1;
      return 0;
    }
    int64_t d = packed;
    if (displs != NULL) {
      d = displs[r];
      if (d < 0) {
        throw_range(a->env, a->fn, "%s[%d] = %lld is negative", dname, r, (long long)d);
        a->failed = 1;
        return 0;
      }
    } else if (packed > INT32_MAX) {
      throw_range(a->env, a->fn, "the packed displacement of rank %d (%lld) exceeds 2^31-1", r, (long long)packed);
      a->failed = 1;
      return 0;
    }
    if (displs_out != NULL) displs_out[r] = (int32_t)d;
    if (d + counts[r] > (int64_t)len) {
      throw_range(a->env, a->fn,
                  "block of rank %d (%s[%d] = %lld, %s[%d] = %d) ends at %lld, past the end of '%s' (%zu elements)", r,
                  dname, r, (long long)d, cname, r, counts[r], (long long)(d + counts[r]), bname, len);
      a->failed = 1;
      return 0;
    }
    packed += counts[r];
  }
  if (!receive || displs == NULL) return 1; /* packed blocks never overlap */
  Span *spans = scratch_spans;
  int n = 0;
  for (int r = 0; r < world_size; r++)
    if (counts[r] > 0) spans[n++] = (Span){displs[r], (int64_t)displs[r] + counts[r], r};
  qsort(spans, (size_t)n, sizeof(Span), span_cmp);
  for (int i = 1; i < n; i++) {
    if (spans[i].lo < spans[i - 1].hi) {
      int r0 = spans[i - 1].rank, r1 = spans[i].rank;
      throw_range(a->env, a->fn, "the blocks of ranks %d and %d overlap in '%s' (%s[%d] = %d, %s[%d] = %d)", r0,
                  r1, bname, dname, r0, displs[r0], dname, r1, displs[r1]);
      a->failed = 1;
      return 0;
    }
  }
  return 1;
}

/* ---------- watchdog ---------- */

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv;
static int wd_started = 0, wd_idle = 0, wd_active = 0;
static double wd_timeout = 0; /* seconds; 0 = off */
static const char *wd_op = NULL;
static struct timespec wd_deadline;

static void now_ts(struct timespec *t) {
#if defined(__linux__)
  clock_gettime(CLOCK_MONOTONIC, t);
#else
  clock_gettime(CLOCK_REALTIME, t);
#endif
}

static int ts_before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *watchdog_main(void *unused) {
  (void)unused;
  pthread_mutex_lock(&wd_mu);
  for (;;) {
    if (!wd_active || wd_timeout <= 0) {
      wd_idle = 1;
      pthread_cond_wait(&wd_cv, &wd_mu);
      wd_idle = 0;
      continue;
    }
    struct timespec deadline = wd_deadline, now;
    int rc = pthread_cond_timedwait(&wd_cv, &wd_mu, &deadline);
    now_ts(&now);
    /* Fire only if the same call is still running past ITS deadline: a call that ended and a new one
     * that began while this thread slept has moved wd_deadline forward. */
    if (rc == ETIMEDOUT && wd_active && wd_timeout > 0 && !ts_before(&now, &wd_deadline)) {
      fprintf(stderr,
              "kdrec: rank %d of %d: %s has not returned after %g s (KDREC_MPI_TIMEOUT): a peer rank is stuck "
              "or called a different collective; exiting with code %d so that mpirun ends the job\n",
              world_rank, world_size, wd_op, wd_timeout, TIMEOUT_EXIT_CODE);
      fflush(stderr);
      /* _exit, not MPI_Abort: at MPI_THREAD_FUNNELED this thread may not call MPI, and the main thread
       * is blocked inside MPI. A non-zero exit of an MPI process makes mpirun kill the job. */
      _exit(TIMEOUT_EXIT_CODE);
    }
  }
  return NULL;
}

/* Starts timing one collective. Signals the watchdog only when it sleeps without a deadline, so a
 * collective costs no system call while calls follow each other within the timeout. */
static void watch_begin(const char *op) {
  if (wd_timeout <= 0) return;
  pthread_mutex_lock(&wd_mu);
  now_ts(&wd_deadline);
  double whole = (double)(time_t)wd_timeout;
  wd_deadline.tv_sec += (time_t)whole;
  wd_deadline.tv_nsec += (long)((wd_timeout - whole) * 1e9);
  if (wd_deadline.tv_nsec >= 1000000000L) wd_deadline.tv_sec++, wd_deadline.tv_nsec -= 1000000000L;
  wd_op = op;
  wd_active = 1;
  if (wd_idle) pthread_cond_signal(&wd_cv);
  pthread_mutex_unlock(&wd_mu);
}

static void watch_end(void) {
  if (wd_timeout <= 0) return;
  pthread_mutex_lock(&wd_mu);
  wd_active = 0;
  pthread_mutex_unlock(&wd_mu);
}

/* ---------- lifecycle ---------- */

/*
 * Node loads addons with dlopen(RTLD_LAZY) and no RTLD_GLOBAL, so libmpi (a dependency of this addon)
 * lands in a private symbol scope. Open MPI's plugins (mca_*.so, dlopen'ed by MPI_Init) expect
 * libmpi's and libopen-pal's symbols in the global scope; where they cannot see them they fail to
 * load ("undefined symbol: ompi_..." / "opal_..."), and MPI_Init aborts. Open MPI >= 3.0 links most
 * plugins against its libraries, but not all: in Debian's 4.1.4, mca_pml_ob1.so and mca_btl_tcp.so
 * have no DT_NEEDED entry for them. They load there only by luck of order: Open MPI opens plugins with
 * RTLD_GLOBAL, and the first one that does link libmpi (mca_op_avx) drags libmpi into the global
 * scope before pml_ob1 is opened (seen with LD_DEBUG=scopes). Re-opening
 * the already loaded libmpi with RTLD_NOLOAD | RTLD_GLOBAL moves it and its dependencies into the
 * global scope. dladdr finds the file that actually provides MPI_Init, so this works whatever the
 * library's soname (libmpi.so.40 for Open MPI 4, libmpi.so.12 for MPICH) or install prefix. The handle
 * is never closed: an MPI library cannot be unloaded.
 */
static const char *promote_libmpi(char *err, size_t errlen) {
  static char path[4096];
  Dl_info info;
  if (dladdr((void *)&MPI_Init, &info) == 0 || info.dli_fname == NULL) {
    snprintf(err, errlen, "dladdr(MPI_Init) found no library");
    return NULL;
  }
  snprintf(path, sizeof path, "%s", info.dli_fname);
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  if (h == NULL) h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (h == NULL) {
    const char *e = dlerror();
    snprintf(err, errlen, "dlopen(%s, RTLD_GLOBAL): %s", path, e ? e : "unknown error");
    return NULL;
  }
  return path;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value make_str(napi_env env, const char *s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

static void set_prop(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

/* init() → { rank, size, threadLevel, libmpi }. Idempotent while initialised. */
static napi_value m_init(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(env, info, &a, 0, "init", 0)) return NULL;
  if (state == ST_FINALIZED) return throw_plain(env, "init", "MPI was finalised; it cannot be initialised again");
  static const char *libmpi = NULL;
  if (state == ST_NONE) {
    char err[4200];
    libmpi = promote_libmpi(err, sizeof err);
    if (libmpi == NULL) return throw_plain(env, "init", err);
    int provided = 0;
    /* FUNNELED: only the initialising thread calls MPI. The watchdog thread never does. */
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "init", "MPI_Init_thread", rc);
    if (provided < MPI_THREAD_FUNNELED) {
      return throw_plain(env, "init", "the MPI library does not support MPI_THREAD_FUNNELED");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    scratch_displs = malloc(sizeof(int32_t) * 2 * (size_t)world_size);
    scratch_spans = malloc(sizeof(Span) * (size_t)world_size);
    if (scratch_displs == NULL || scratch_spans == NULL) {
      MPI_Abort(MPI_COMM_WORLD, 1); /* a rank that cannot join would leave the others waiting */
    }
    init_thread = pthread_self();
    state = ST_INITIALIZED;
  } else if (!pthread_equal(pthread_self(), init_thread)) {
    return throw_plain(env, "init", "MPI was initialised by another thread");
  }
  int provided = 0;
  MPI_Query_thread(&provided);
  napi_value out;
  napi_create_object(env, &out);
  set_prop(env, out, "rank", make_int(env, world_rank));
  set_prop(env, out, "size", make_int(env, world_size));
  set_prop(env, out, "threadLevel",
           make_str(env, provided == MPI_THREAD_SINGLE       ? "single"
                         : provided == MPI_THREAD_FUNNELED   ? "funneled"
                         : provided == MPI_THREAD_SERIALIZED ? "serialized"
                                                             : "multiple"));
  set_prop(env, out, "libmpi", make_str(env, libmpi));
  return out;
}

/* finalize(): ends MPI for this process. Every rank must call it (it synchronises with the others). */
static napi_value m_finalize(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(env, info, &a, 0, "finalize", 1)) return NULL;
  watch_begin("MPI_Finalize");
  int rc = MPI_Finalize();
  watch_end();
  state = ST_FINALIZED;
  if (rc != MPI_SUCCESS) return throw_mpi(env, "finalize", "MPI_Finalize", rc);
  return NULL;
}

/* abort(code): MPI_Abort(MPI_COMM_WORLD, code); does not return. */
static napi_value m_abort(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(env, info, &a, 1, "abort", 1)) return NULL;
  int64_t code = arg_int(&a, 0, "code", 0, 255);
  if (a.failed) return NULL;
  fflush(stdout);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, (int)code);
  _exit((int)code); /* MPI_Abort should not return; make sure the process still ends if it does */
}

/* state() → 'uninitialized' | 'initialized' | 'finalized' (the wrapper keeps its own view in sync). */
static napi_value m_state(napi_env env, napi_callback_info info) {
  (void)info;
  return make_str(env, state == ST_NONE ? "uninitialized" : state == ST_INITIALIZED ? "initialized" : "finalized");
}

/* libraryVersion(): MPI_Get_library_version, which MPI allows before MPI_Init. */
static napi_value m_library_version(napi_env env, napi_callback_info info) {
  (void)info;
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0, major = 0, minor = 0;
  MPI_Get_library_version(v, &len);
  MPI_Get_version(&major, &minor);
  /* Open MPI's string ends with a newline and may run over several lines; keep the first line. */
  v[len < MPI_MAX_LIBRARY_VERSION_STRING ? len : MPI_MAX_LIBRARY_VERSION_STRING - 1] = 0;
  char *nl = strpbrk(v, "\r\n");
  if (nl != NULL) *nl = 0;
  napi_value out;
  napi_create_object(env, &out);
  set_prop(env, out, "library", make_str(env, v));
  set_prop(env, out, "major", make_int(env, major));
  set_prop(env, out, "minor", make_int(env, minor));
  return out;
}

static napi_value m_processor_name(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(env, info, &a, 0, "processorName", 1)) return NULL;
  char name[MPI_MAX_PROCESSOR_NAME + 1];
  int len = 0;
  int rc = MPI_Get_processor_name(name, &len);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "processorName", "MPI_Get_processor_name", rc);
  name[len] = 0;
  return make_str(env, name);
}

/* setTimeout(seconds): the watchdog's limit for one collective call; 0 turns it off. */
static napi_value m_set_timeout(napi_env env, napi_callback_info info) {
  Args a;
  double s = 0;
  if (!args_init(env, info, &a, 1, "setTimeout", 0)) return NULL;
  if (napi_get_value_double(env, a.argv[0], &s) != napi_ok || !(s >= 0) || s > 1e9) {
    napi_throw_range_error(env, "ERR_KDREC_MPI", "mpi.setTimeout: 'seconds' must be a number in [0, 1e9] (0 = off)");
    return NULL;
  }
  pthread_mutex_lock(&wd_mu);
  wd_timeout = s;
  if (s > 0 && !wd_started) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
#if defined(__linux__)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* a wall-clock jump must not fire it */
#endif
    pthread_cond_init(&wd_cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_t t;
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &ta, watchdog_main, NULL);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
      wd_timeout = 0;
      pthread_mutex_unlock(&wd_mu);
      return throw_plain(env, "setTimeout", "cannot start the watchdog thread");
    }
    wd_started = 1;
  } else if (wd_started && wd_idle) {
    pthread_cond_signal(&wd_cv);
  }
  pthread_mutex_unlock(&wd_mu);
  return NULL;
}

/* ---------- collectives ---------- */

/* Runs one MPI call under the watchdog; a returned error (only possible if someone replaced
 * MPI_ERRORS_ARE_FATAL) becomes a JS Error naming the function. Ends the calling N-API function. */
#define RUN_MPI(env, fn, name, call)                                 \
  do {                                                               \
    watch_begin(name);                                               \
    int rc_ = (call);                                                \
    watch_end();                                                     \
    if (rc_ != MPI_SUCCESS) return throw_mpi((env), (fn), name, rc_); \
    return NULL;                                                     \
  } while (0)

static MPI_Op reduce_op(Args *a, size_t i) {
  if (a->failed) return MPI_OP_NULL;
  char s[8] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(a->env, a->argv[i], s, sizeof s, &len) == napi_ok) {
    if (strcmp(s, "sum") == 0) return MPI_SUM;
    if (strcmp(s, "max") == 0) return MPI_MAX;
    if (strcmp(s, "min") == 0) return MPI_MIN;
  }
  arg_type_fail(a, "op", "'sum', 'max' or 'min'");
  return MPI_OP_NULL;
}

/* allreduce(buf, op, out | null): out = null reduces in place (MPI_IN_PLACE). */
static napi_value m_allreduce(napi_env env, napi_callback_info info) {
  Args a;
  Buf buf, out;
  if (!args_init(env, info, &a, 3, "allreduce", 1)) return NULL;
  arg_buf(&a, 0, "buf", &buf);
  MPI_Op op = reduce_op(&a, 1);
  int in_place = is_nullish(env, a.argv[2]);
  if (!in_place) {
    arg_buf(&a, 2, "out", &out);
    same_type(&a, &buf, "buf", &out, "out");
    if (!a.failed && out.len != buf.len)
      return throw_range(env, "allreduce", "'out' has %zu elements, 'buf' has %zu; they must match", out.len,
                         buf.len);
    if (!a.failed && out.data == buf.data) in_place = 1;
    else disjoint(&a, &buf, "buf", &out, "out");
  }
  if (a.failed) return NULL;
  RUN_MPI(env, "allreduce", "MPI_Allreduce",
          MPI_Allreduce(in_place ? MPI_IN_PLACE : buf.data, in_place ? buf.data : out.data, (int)buf.len, buf.dt, op,
                        MPI_COMM_WORLD));
}

/* allgather(send, recv): every rank sends send.length elements; recv holds size × that, rank-major. */
static napi_value m_allgather(napi_env env, napi_callback_info info) {
  Args a;
  Buf send, recv;
  if (!args_init(env, info, &a, 2, "allgather", 1)) return NULL;
  arg_send_recv(&a, 0, 1, &send, &recv);
  if (a.failed) return NULL;
  if ((uint64_t)recv.len != (uint64_t)send.len * (uint64_t)world_size)
    return throw_range(env, "allgather", "'recv' has %zu elements, must have size × send.length = %d × %zu",
                       recv.len, world_size, send.len);
  RUN_MPI(env, "allgather", "MPI_Allgather",
          MPI_Allgather(send.data, (int)send.len, send.dt, recv.data, (int)send.len, recv.dt, MPI_COMM_WORLD));
}

/* allgatherv(send, recv, recvCounts, recvDispls | null): rank r's send lands at recv[displs[r]...]. */
static napi_value m_allgatherv(napi_env env, napi_callback_info info) {
  Args a;
  Buf send, recv;
  if (!args_init(env, info, &a, 4, "allgatherv", 1)) return NULL;
  arg_send_recv(&a, 0, 1, &send, &recv);
  const int32_t *counts = arg_per_rank(&a, 2, "recvCounts");
  const int32_t *displs = is_nullish(env, a.argv[3]) ? NULL : arg_per_rank(&a, 3, "recvDispls");
  if (a.failed) return NULL;
  int32_t *d = scratch_displs;
  if (!check_blocks(&a, "recvCounts", counts, "recvDispls", displs, d, recv.len, "recv", 1)) return NULL;
  if ((size_t)counts[world_rank] != send.len)
    return throw_range(env, "allgatherv", "'send' has %zu elements but recvCounts[%d] (this rank) = %d", send.len,
                       world_rank, counts[world_rank]);
  RUN_MPI(env, "allgatherv", "MPI_Allgatherv",
          MPI_Allgatherv(send.data, (int)send.len, send.dt, recv.data, counts, d, recv.dt, MPI_COMM_WORLD));
}

/* alltoall(send, recv): block r of send (send.length / size elements) goes to rank r. */
static napi_value m_alltoall(napi_env env, napi_callback_info info) {
  Args a;
  Buf send, recv;
  if (!args_init(env, info, &a, 2, "alltoall", 1)) return NULL;
  arg_send_recv(&a, 0, 1, &send, &recv);
  if (a.failed) return NULL;
  if (send.len % (size_t)world_size != 0 || recv.len != send.len)
    return throw_range(env, "alltoall",
                       "'send' (%zu elements) and 'recv' (%zu) must have the same length, a multiple of size (%d)",
                       send.len, recv.len, world_size);
  int block = (int)(send.len / (size_t)world_size);
  RUN_MPI(env, "alltoall", "MPI_Alltoall",
          MPI_Alltoall(send.data, block, send.dt, recv.data, block, recv.dt, MPI_COMM_WORLD));
}

/* alltoallv(send, sendCounts, sendDispls | null, recv, recvCounts, recvDispls | null). */
static napi_value m_alltoallv(napi_env env, napi_callback_info info) {
  Args a;
  Buf send, recv;
  if (!args_init(env, info, &a, 6, "alltoallv", 1)) return NULL;
  arg_send_recv(&a, 0, 3, &send, &recv);
  const int32_t *sc = arg_per_rank(&a, 1, "sendCounts");
  const int32_t *sd = is_nullish(env, a.argv[2]) ? NULL : arg_per_rank(&a, 2, "sendDispls");
  const int32_t *rcnt = arg_per_rank(&a, 4, "recvCounts");
  const int32_t *rd = is_nullish(env, a.argv[5]) ? NULL : arg_per_rank(&a, 5, "recvDispls");
  if (a.failed) return NULL;
  int32_t *d = scratch_displs;
  if (!check_blocks(&a, "sendCounts", sc, "sendDispls", sd, d, send.len, "send", 0) ||
      !check_blocks(&a, "recvCounts", rcnt, "recvDispls", rd, d + world_size, recv.len, "recv", 1))
    return NULL;
  if (sc[world_rank] != rcnt[world_rank])
    return throw_range(env, "alltoallv", "sendCounts[%d] = %d but recvCounts[%d] = %d (this rank sends to itself)",
                       world_rank, sc[world_rank], world_rank, rcnt[world_rank]);
  RUN_MPI(env, "alltoallv", "MPI_Alltoallv",
          MPI_Alltoallv(send.data, sc, d, send.dt, recv.data, rcnt, d + world_size, recv.dt, MPI_COMM_WORLD));
}

/* bcast(buf, root): root's buf overwrites everyone's. */
static napi_value m_bcast(napi_env env, napi_callback_info info) {
  Args a;
  Buf buf;
  if (!args_init(env, info, &a, 2, "bcast", 1)) return NULL;
  arg_buf(&a, 0, "buf", &buf);
  int64_t root = arg_int(&a, 1, "root", 0, world_size - 1);
  if (a.failed) return NULL;
  RUN_MPI(env, "bcast", "MPI_Bcast", MPI_Bcast(buf.data, (int)buf.len, buf.dt, (int)root, MPI_COMM_WORLD));
}

static napi_value m_barrier(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(env, info, &a, 0, "barrier", 1)) return NULL;
  RUN_MPI(env, "barrier", "MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, m_init, NULL, NULL, NULL, napi_enumerable, NULL},
      {"finalize", NULL, m_finalize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"abort", NULL, m_abort, NULL, NULL, NULL, napi_enumerable, NULL},
      {"state", NULL, m_state, NULL, NULL, NULL, napi_enumerable, NULL},
      {"libraryVersion", NULL, m_library_version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"processorName", NULL, m_processor_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTimeout", NULL, m_set_timeout, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allreduce", NULL, m_allreduce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allgather", NULL, m_allgather, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allgatherv", NULL, m_allgatherv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alltoall", NULL, m_alltoall, NULL, NULL, NULL, napi_enumerable, NULL},
      {"alltoallv", NULL, m_alltoallv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bcast", NULL, m_bcast, NULL, NULL, NULL, napi_enumerable, NULL},
      {"barrier", NULL, m_barrier, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
