#!/usr/bin/env node
/**
 * Builds the native kernel provider (native/, issue 8) into native/build/Release/kdrec_native.node.
 *
 * The native provider is optional: kdrec falls back to WebAssembly/TypeScript kernels without it. So
 * this script first probes for what the build needs (a C compiler, OpenBLAS, node-gyp and the Node
 * headers) and, when something is missing, prints ONE line saying what and how to get it, and exits
 * 0 so that `npm ci` on a machine without libopenblas still succeeds. A failed compile is reported
 * the same way (with the compiler's last lines). Set KDREC_NATIVE_REQUIRED=1 to make any skip an
 * error (CI jobs that must test the native path), or KDREC_SKIP_NATIVE=1 to skip deliberately.
 * KDREC_NATIVE_MARCH=native tunes the loops for the build machine (not portable; off by default).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeGypRebuild, root, run } from './node-gyp-build.mjs';

const nativeDir = join(root, 'native');
const required = process.env.KDREC_NATIVE_REQUIRED === '1';
const INSTALL_HINT =
  'apt-get install libopenblas-dev (Debian/Ubuntu), brew install openblas (macOS), dnf install openblas-devel (Fedora)';

function skip(reason) {
  console.log(`kdrec: native kernels not built: ${reason}. kdrec will use the WebAssembly/TypeScript kernels.`);
  process.exit(required ? 1 : 0);
}

if (process.env.KDREC_SKIP_NATIVE === '1') skip('KDREC_SKIP_NATIVE=1');

const cc = process.env.CC || 'cc';
if (!run(cc, ['--version']).ok) skip(`no C compiler ('${cc}' not found; install build-essential / Xcode CLT)`);

// OpenBLAS flags: pkg-config knows Debian's multiarch paths and Fedora's; Homebrew's openblas is
// keg-only, so ask brew for its prefix; otherwise try the plain library name.
function blasFlagCandidates() {
  const out = [];
  const pc = run('pkg-config', ['--cflags', '--libs', 'openblas']);
  if (pc.ok) {
    const cflags = run('pkg-config', ['--cflags', 'openblas']).out.trim();
    const libs = run('pkg-config', ['--libs', 'openblas']).out.trim();
    out.push({ cflags, libs });
  }
  const brew = run('brew', ['--prefix', 'openblas']);
  if (brew.ok) {
    const p = brew.out.trim();
    out.push({ cflags: `-I${p}/include`, libs: `-L${p}/lib -Wl,-rpath,${p}/lib -lopenblas` });
  }
  out.push({ cflags: '', libs: '-lopenblas' });
  return out;
}

const probeDir = join(tmpdir(), `kdrec-native-probe-${process.pid}`);
mkdirSync(probeDir, { recursive: true });
const probeSrc = join(probeDir, 'probe.c');
writeFileSync(
  probeSrc,
  '#include <cblas.h>\nextern char *openblas_get_config(void);\n' +
    'int main(void) { float a = 1, b = 2, c = 0;\n' +
    '  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);\n' +
    '  return (c == 2.0f && openblas_get_config() != 0) ? 0 : 1; }\n',
);
let blas = null;
for (const cand of blasFlagCandidates()) {
  const args = [...cand.cflags.split(/\s+/).filter(Boolean), probeSrc, '-o', join(probeDir, 'probe')];
  args.push(...cand.libs.split(/\s+/).filter(Boolean));
  if (run(cc, args).ok && run(join(probeDir, 'probe'), []).ok) {
    blas = cand;
    break;
  }
}
rmSync(probeDir, { recursive: true, force: true });
if (blas === null) skip(`OpenBLAS not found (${INSTALL_HINT})`);

const failed = nodeGypRebuild(nativeDir, { KDREC_BLAS_CFLAGS: blas.cflags, KDREC_BLAS_LIBS: blas.libs });
if (failed !== null) skip(failed);
const out = join(nativeDir, 'build', 'Release', 'kdrec_native.node');
if (!existsSync(out)) skip(`node-gyp reported success but ${out} is missing`);
console.log(`kdrec: native kernels built: ${out} (BLAS: ${blas.libs})`);
