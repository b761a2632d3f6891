/**
 * Kernel provider selection. `getKernels()` returns the active provider, chosen once, lazily:
 * KDREC_KERNELS=js|wasm|native forces one; otherwise the fastest that loads is used (native, then
 * wasm, then js). If a requested provider fails to load, kdrec prints one warning line and falls
 * back to the TypeScript provider, never crashing (issue 8). In auto mode a provider that is simply
 * not built is skipped silently (the normal state of a machine without OpenBLAS; the install step
 * already said so once), while one that is built but fails to load prints one warning line and the
 * next provider is tried.
 */
import { ProviderNotBuiltError } from './artifacts.js';
import { cpuFeatures, DISPLAY_FEATURES } from './cpu.js';
import { jsKernels } from './js.js';
import { loadNativeKernels, type NativeKernels } from './native.js';
import type { Kernels } from './types.js';
import { loadWasmKernels } from './wasm.js';

export type { Kernels } from './types.js';

export const PROVIDER_NAMES = ['js', 'wasm', 'native'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

let active: Kernels | null = null;
/** Why the active provider was chosen, for `kdrec doctor`. */
let selectionNote = '';
const loaded = new Map<ProviderName, Kernels>([['js', jsKernels]]);
const loadErrors = new Map<ProviderName, string>();
/** Providers whose artifact exists but failed to load (a fault worth a warning even in auto mode). */
const brokenProviders = new Set<ProviderName>();

export function getKernels(): Kernels {
  if (active === null) active = selectKernels(process.env['KDREC_KERNELS']);
  return active;
}

/** Overrides the active provider (tests use this to compare providers). */
export function setKernels(k: Kernels): void {
  active = k;
  selectionNote = 'set by setKernels()';
}

/**
 * Loads one provider by name, caching the result; returns null (and remembers why) when it cannot
 * be loaded. Never throws for a missing or broken provider.
 */
export function loadProvider(name: ProviderName): Kernels | null {
  const have = loaded.get(name);
  if (have !== undefined) return have;
  if (loadErrors.has(name)) return null;
  try {
    const k = name === 'native' ? loadNativeKernels() : name === 'wasm' ? loadWasmKernels() : jsKernels;
    loaded.set(name, k);
    return k;
  } catch (err) {
    loadErrors.set(name, err instanceof Error ? err.message : String(err));
    if (!(err instanceof ProviderNotBuiltError)) brokenProviders.add(name);
    return null;
  }
}

/** The reason the named provider failed to load, if it did. */
export function providerLoadError(name: ProviderName): string | undefined {
  return loadErrors.get(name);
}

function selectKernels(requested: string | undefined): Kernels {
  const want = requested?.trim().toLowerCase() ?? '';
  if (want === '' || want === 'auto') {
    for (const name of ['native', 'wasm'] as const) {
      const k = loadProvider(name);
      if (k !== null) {
        selectionNote = 'auto: fastest provider that loads';
        return k;
      }
      if (brokenProviders.has(name)) {
        process.stderr.write(
          `kdrec: warning: ${name} kernels are built but failed to load (${loadErrors.get(name)}); trying the next provider\n`,
        );
      }
    }
    selectionNote = 'auto: native and wasm unavailable';
    return jsKernels;
  }
  if (!(PROVIDER_NAMES as readonly string[]).includes(want)) {
    process.stderr.write(
      `kdrec: warning: KDREC_KERNELS='${requested}' is not one of ${PROVIDER_NAMES.join('|')}; using the TypeScript kernels\n`,
    );
    selectionNote = `KDREC_KERNELS='${requested}' unknown; fell back to js`;
    return jsKernels;
  }
  const k = loadProvider(want as ProviderName);
  if (k !== null) {
    selectionNote = `KDREC_KERNELS=${want}`;
    return k;
  }
  const why = loadErrors.get(want as ProviderName) ?? 'unknown error';
  process.stderr.write(
    `kdrec: warning: KDREC_KERNELS=${want} failed to load (${why}); using the TypeScript kernels\n`,
  );
  selectionNote = `KDREC_KERNELS=${want} failed to load; fell back to js`;
  return jsKernels;
}

export interface KernelsInfo {
  /** Active provider name. */
  name: string;
  /** How it was chosen (env var, auto, fallback). */
  selection: string;
  /** BLAS library, core type and thread count (native provider only). */
  blas?: string;
  blasCore?: string;
  /** Where the core type came from when kdrec chose it (see native.ts). */
  blasCoreNote?: string;
  blasThreads?: number;
  /** SIMD-relevant CPU flags present on this machine (empty when unknown). */
  cpuFeatures: string[];
  /** Each provider's availability: 'ok' or the reason it did not load. */
  providers: Record<ProviderName, string>;
}

function isNative(k: Kernels): k is NativeKernels {
  return k.name === 'native' && typeof (k as Partial<NativeKernels>).blasInfo === 'function';
}

/** What `kdrec doctor` prints: the active provider, its BLAS, and the CPU features. */
export function kernelsInfo(): KernelsInfo {
  const k = getKernels();
  const flags = cpuFeatures();
  const providers = {} as Record<ProviderName, string>;
  for (const name of PROVIDER_NAMES) {
    providers[name] = loadProvider(name) !== null ? 'ok' : (loadErrors.get(name) ?? 'not loaded');
  }
  const info: KernelsInfo = {
    name: k.name,
    selection: selectionNote,
    cpuFeatures: DISPLAY_FEATURES.filter((f) => flags.has(f)),
    providers,
  };
  if (isNative(k)) {
    const b = k.blasInfo();
    info.blas = b.config;
    info.blasCore = b.corename;
    info.blasThreads = b.threads;
    if (k.forcedCoreType !== null) info.blasCoreNote = 'OPENBLAS_CORETYPE chosen by kdrec from the CPU flags';
  }
  return info;
}
