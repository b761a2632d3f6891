/**
 * Kernel provider selection. `getKernels()` returns the active provider, chosen once, lazily:
 * KDREC_KERNELS=js|wasm|native forces one; otherwise the fastest that loads is used (native, then
 * wasm, then js). If a requested provider fails to load, kdrec prints one warning line and falls
 * back to the TypeScript provider, never crashing (issue 8). In auto mode a provider that is simply
 * not built is skipped silently: that is the normal state of a machine without OpenBLAS.
 */
import { cpuFeatures, DISPLAY_FEATURES } from './cpu.js';
import { jsKernels } from './js.js';
import { loadNativeKernels } from './native.js';
import { loadWasmKernels } from './wasm.js';
export const PROVIDER_NAMES = ['js', 'wasm', 'native'];
let active = null;
/** Why the active provider was chosen, for `kdrec doctor`. */
let selectionNote = '';
const loaded = new Map([['js', jsKernels]]);
const loadErrors = new Map();
export function getKernels() {
    if (active === null)
        active = selectKernels(process.env['KDREC_KERNELS']);
    return active;
}
/** Overrides the active provider (tests use this to compare providers). */
export function setKernels(k) {
    active = k;
    selectionNote = 'set by setKernels()';
}
/**
 * Loads one provider by name, caching the result; returns null (and remembers why) when it cannot
 * be loaded. Never throws for a missing or broken provider.
 */
export function loadProvider(name) {
    const have = loaded.get(name);
    if (have !== undefined)
        return have;
    if (loadErrors.has(name))
        return null;
    try {
        const k = name === 'native' ? loadNativeKernels() : name === 'wasm' ? loadWasmKernels() : jsKernels;
        loaded.set(name, k);
        return k;
    }
    catch (err) {
        loadErrors.set(name, err instanceof Error ? err.message : String(err));
        return null;
    }
}
/** The reason the named provider failed to load, if it did. */
export function providerLoadError(name) {
    return loadErrors.get(name);
}
function selectKernels(requested) {
    const want = requested?.trim().toLowerCase() ?? '';
    if (want === '' || want === 'auto') {
        for (const name of ['native', 'wasm']) {
            const k = loadProvider(name);
            if (k !== null) {
                selectionNote = 'auto: fastest provider that loads';
                return k;
            }
        }
        selectionNote = 'auto: native and wasm unavailable';
        return jsKernels;
    }
    if (!PROVIDER_NAMES.includes(want)) {
        process.stderr.write(`kdrec: warning: KDREC_KERNELS='${requested}' is not one of ${PROVIDER_NAMES.join('|')}; using the TypeScript kernels\n`);
        selectionNote = `KDREC_KERNELS='${requested}' unknown; fell back to js`;
        return jsKernels;
    }
    const k = loadProvider(want);
    if (k !== null) {
        selectionNote = `KDREC_KERNELS=${want}`;
        return k;
    }
    const why = loadErrors.get(want) ?? 'unknown error';
    process.stderr.write(`kdrec: warning: KDREC_KERNELS=${want} failed to load (${why}); using the TypeScript kernels\n`);
    selectionNote = `KDREC_KERNELS=${want} failed to load; fell back to js`;
    return jsKernels;
}
function isNative(k) {
    return k.name === 'native' && typeof k.blasInfo === 'function';
}
/** What `kdrec doctor` prints: the active provider, its BLAS, and the CPU features. */
export function kernelsInfo() {
    const k = getKernels();
    const flags = cpuFeatures();
    const providers = {};
    for (const name of PROVIDER_NAMES) {
        providers[name] = loadProvider(name) !== null ? 'ok' : (loadErrors.get(name) ?? 'not loaded');
    }
    const info = {
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
    }
    return info;
}
//# sourceMappingURL=index.js.map