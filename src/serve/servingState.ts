/**
 * What a server holds for one loaded export: the serving bundle (./bundle.ts), its vector index
 * (./annIndex.ts) and the online user-state encoder. Loading is separate from the HTTP layer so that
 * the single-process server and every worker of a cluster (./cluster.ts) load exports the same way.
 *
 * `loadServingStateAsync` is the one to call from a running server: file reads go to libuv's thread
 * pool, catalogue-sized loops yield to the event loop every few milliseconds, and the saved HNSW
 * graph is memory-mapped read-only (usearch `view`) rather than read into the heap. Both functions
 * run the same loader (./bundle.ts `Loader`), so they cannot drift apart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ExactIndex,
  HnswIndex,
  hasSavedIndex,
  INDEX_FILE,
  INDEX_META,
  indexMetaFile,
  type VectorIndex,
} from './annIndex.js';
import {
  bundleLoader,
  type Loader,
  manifestLoader,
  missingFileError,
  runLoaderAsync,
  runLoaderSync,
  type ServingBundle,
} from './bundle.js';
import type { IndexTuning } from './indexEval.js';
import { OnlineUserState } from './userStateStore.js';

export interface ServingState {
  dir: string;
  bundle: ServingBundle;
  index: VectorIndex;
  indexKind: 'hnsw' | 'exact';
  /** What the saved HNSW index was tuned to and measured at build time (null: exact, or untuned). */
  indexTuning: IndexTuning | null;
  loadedAt: string;
  /** The export's user-state encoder (./userStateStore.ts), null when its model reads no user state. */
  userState: OnlineUserState | null;
}

export type IndexChoice = 'auto' | 'hnsw' | 'exact';

/** How a server searches its HNSW index. */
export interface SearchOptions {
  /** HNSW ef at query time (default HNSW_DEFAULTS.expansionSearch; usearch uses max(ef, k)). */
  ef?: number;
}

/** Loads an export and its index: the saved HNSW index when present ('auto'), else exact search. */
function* servingStateLoader(dir: string, index: IndexChoice, search: SearchOptions): Loader<ServingState> {
  const bundle = yield* bundleLoader(dir);
  const m = bundle.manifest;
  const saved = hasSavedIndex(dir, m);
  if (index === 'hnsw' && !saved)
    throw new Error(
      `${dir}: no saved HNSW index (${indexMetaFile(m)}; run \`kdrec index build --export ${dir}\`)`,
    );
  // A graph without its description is a partial export, not one without an index: serving it
  // exactly instead would silently change recall (and latency) under the operator.
  if (!saved && existsSync(join(dir, INDEX_FILE)))
    throw missingFileError(
      `${dir}: partial export: ${INDEX_META} is missing but the index graph ${INDEX_FILE} is there (rebuild it with \`kdrec index build\`, or delete ${INDEX_FILE} to serve exact search)`,
    );
  const useHnsw = index === 'hnsw' || (index === 'auto' && saved);
  const hnsw = useHnsw
    ? yield* HnswIndex.loader(dir, bundle, {
        mode: 'view',
        ...(search.ef !== undefined ? { expansionSearch: search.ef } : {}),
      })
    : null;
  return {
    dir,
    bundle,
    index: hnsw ?? new ExactIndex(m.dim, bundle.itemVectors, 2000, bundle.itemLive),
    indexKind: useHnsw ? 'hnsw' : 'exact',
    indexTuning: hnsw?.tuning ?? null,
    loadedAt: new Date().toISOString(),
    userState: OnlineUserState.forExport(bundle),
  };
}

/**
 * A load that lost a race with `kdrec index add/remove`: it read a manifest, and two updates later
 * the files of that revision were deleted (./annIndex.ts keeps the previous revision only). Such a
 * load is retried with the manifest now in place; any other error is the caller's.
 */
function* retryingOnRevisionChange(
  dir: string,
  index: IndexChoice,
  search: SearchOptions,
): Loader<ServingState> {
  for (let attempt = 0; ; attempt++) {
    const before = (yield* manifestLoader(dir)).revision ?? 0;
    try {
      return yield* servingStateLoader(dir, index, search);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw err;
      const now = (yield* manifestLoader(dir)).revision ?? 0;
      if (now === before) throw err;
    }
  }
}

/** Loads an export synchronously (tests, one-shot commands): blocks the event loop for the whole load. */
export function loadServingState(
  dir: string,
  index: IndexChoice = 'auto',
  search: SearchOptions = {},
): ServingState {
  return runLoaderSync(retryingOnRevisionChange(dir, index, search));
}

/**
 * Loads an export without stalling the event loop: a server calls this for its initial load and for
 * every reload (POST /admin/reload, SIGHUP), then swaps the state in with one assignment.
 */
export function loadServingStateAsync(
  dir: string,
  index: IndexChoice = 'auto',
  search: SearchOptions = {},
): Promise<ServingState> {
  return runLoaderAsync(retryingOnRevisionChange(dir, index, search));
}
