#!/usr/bin/env node
/**
 * Builds the optional MPI addon (native/mpi/, issue 16) into native/mpi/build/Release/kdrec_mpi.node.
 *
 * MPI is only needed to train across processes/machines (`mpirun -np N kdrec train ...`); everything
 * else works without it. So this script probes for an MPI C toolchain first and, when there is none,
 * prints ONE line saying so and how to get it, and exits 0 (`npm ci` must succeed on a laptop
 * without MPI). A failed compile is reported the same way, after the compiler's last lines.
 * KDREC_MPI_REQUIRED=1 makes any skip an error (CI jobs that must test MPI); KDREC_SKIP_MPI=1 skips.
 *
 * Flags come from the MPI wrapper compiler (`mpicc --showme:compile` / `--showme:link`, Open MPI's
 * way of printing them without compiling), else pkg-config (`ompi` for Open MPI, `mpich` for MPICH).
 * Each candidate is tried on a small probe program that is compiled, linked and run, so a half-installed
 * MPI (runtime without headers, headers without the library) is skipped with a clear reason.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGypRebuild, root, run } from './node-gyp-build.mjs';

const mpiDir = join(root, 'native', 'mpi');
const required = process.env.KDREC_MPI_REQUIRED === '1';
const INSTALL_HINT =
  'apt-get install openmpi-bin libopenmpi-dev (Debian/Ubuntu), brew install open-mpi (macOS), dnf install openmpi-devel (Fedora)';

function skip(reason) {
  console.log(`kdrec: MPI addon not built: ${reason}. kdrec trains on one machine without it.`);
  process.exit(required ? 1 : 0);
}

if (process.env.KDREC_SKIP_MPI === '1') skip('KDREC_SKIP_MPI=1');

const cc = process.env.CC || 'cc';
if (!run(cc, ['--version']).ok) skip(`no C compiler ('${cc}' not found; install build-essential / Xcode CLT)`);

const words = (s) => s.split(/\s+/).filter(Boolean);

/** Adds -Wl,-rpath for every -L directory, so the addon finds libmpi where it was linked from. */
function withRpath(libs) {
  const dirs = words(libs)
    .filter((w) => w.startsWith('-L'))
    .map((w) => w.slice(2));
  return [...words(libs), ...dirs.map((d) => `-Wl,-rpath,${d}`)].join(' ');
}

function flagCandidates() {
  const out = [];
  const mpicc = process.env.MPICC || 'mpicc';
  const compile = run(mpicc, ['--showme:compile']);
  const link = run(mpicc, ['--showme:link']);
  if (compile.ok && link.ok) out.push({ from: `${mpicc} --showme`, cflags: compile.out.trim(), libs: link.out.trim() });
  for (const pkg of ['ompi', 'mpich']) {
    const cflags = run('pkg-config', ['--cflags', pkg]);
    const libs = run('pkg-config', ['--libs', pkg]);
    if (cflags.ok && libs.ok) out.push({ from: `pkg-config ${pkg}`, cflags: cflags.out.trim(), libs: libs.out.trim() });
  }
  return out.map((c) => ({ ...c, libs: withRpath(c.libs) }));
}

const candidates = flagCandidates();
if (candidates.length === 0) skip(`no MPI found (neither mpicc nor pkg-config ompi/mpich; ${INSTALL_HINT})`);

const probeDir = join(tmpdir(), `kdrec-mpi-probe-${process.pid}`);
mkdirSync(probeDir, { recursive: true });
const probeSrc = join(probeDir, 'probe.c');
// MPI_Get_library_version is one of the few MPI calls allowed before MPI_Init, so the probe can run
// without a launcher and still proves that headers and library match.
writeFileSync(
  probeSrc,
  '#include <mpi.h>\n#include <stdio.h>\n' +
    'int main(void) { char v[MPI_MAX_LIBRARY_VERSION_STRING]; int n = 0;\n' +
    '  if (MPI_Get_library_version(v, &n) != MPI_SUCCESS || n <= 0) return 1;\n' +
    '  fputs(v, stdout); return 0; }\n',
);
let mpi = null;
let lastError = '';
for (const cand of candidates) {
  const exe = join(probeDir, 'probe');
  const compiled = run(cc, [...words(cand.cflags), probeSrc, '-o', exe, ...words(cand.libs)]);
  const ran = compiled.ok ? run(exe, []) : null;
  if (ran?.ok) {
    mpi = { ...cand, version: ran.out.split('\n')[0].trim() };
    break;
  }
  lastError = `${cand.from}: ${(compiled.ok ? ran.out : compiled.out).trim().split('\n').slice(-1)[0] ?? ''}`;
}
rmSync(probeDir, { recursive: true, force: true });
if (mpi === null) skip(`MPI found but a test program does not build or run (${lastError}; ${INSTALL_HINT})`);

const failed = nodeGypRebuild(mpiDir, { KDREC_MPI_CFLAGS: mpi.cflags, KDREC_MPI_LIBS: mpi.libs });
if (failed !== null) skip(failed);
const out = join(mpiDir, 'build', 'Release', 'kdrec_mpi.node');
if (!existsSync(out)) skip(`node-gyp reported success but ${out} is missing`);
console.log(`kdrec: MPI addon built: ${out} (${mpi.version}; flags from ${mpi.from})`);
