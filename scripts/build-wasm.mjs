#!/usr/bin/env node
/**
 * Assembles the WebAssembly SIMD kernels (src/engine/kernels/wasm/*.wat) into binary modules under
 * dist/src/engine/kernels/wasm/, with the `wabt` package from npm (no system toolchain needed).
 * The kernels are loaded synchronously by getKernels(), which cannot await a compiler, so the
 * binary is produced here at build time (see src/engine/kernels/wasm.ts).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'engine', 'kernels', 'wasm');
const outDir = join(root, 'dist', 'src', 'engine', 'kernels', 'wasm');
const wabt = await createRequire(import.meta.url)('wabt')();

mkdirSync(outDir, { recursive: true });
for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.wat'))) {
  const path = join(srcDir, file);
  const mod = wabt.parseWat(path, readFileSync(path, 'utf8'), { simd: true, bulk_memory: true });
  try {
    mod.validate();
    const { buffer } = mod.toBinary({ log: false, write_debug_names: true });
    const out = join(outDir, file.replace(/\.wat$/, '.wasm'));
    writeFileSync(out, buffer);
    console.log(`kdrec: assembled ${file} -> ${out} (${buffer.length} bytes)`);
  } finally {
    mod.destroy();
  }
}
