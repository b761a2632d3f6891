/**
 * What a server holds for one loaded export: the serving bundle (./bundle.ts), its vector index
 * (./annIndex.ts) and the online user-state encoder. Loading is separate from the HTTP layer so that
 * the single-process server and every worker of a cluster (./cluster.ts) load exports the same way.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExactIndex, HnswIndex, INDEX_FILE, type VectorIndex } from './annIndex.js';
import { loadExport, type ServingBundle } from './bundle.js';
import { OnlineUserState } from './userStateStore.js';

export interface ServingState {
  dir: string;
  bundle: ServingBundle;
  index: VectorIndex;
  indexKind: 'hnsw' | 'exact';
  loadedAt: string;
  /** The export's user-state encoder (./userStateStore.ts), null when its model reads no user state. */
  userState: OnlineUserState | null;
}

export type IndexChoice = 'auto' | 'hnsw' | 'exact';

/** Loads an export and its index: the saved HNSW index when present ('auto'), else exact search. */
export function loadServingState(dir: string, index: IndexChoice = 'auto'): ServingState {
  const bundle = loadExport(dir);
  const m = bundle.manifest;
  const saved = existsSync(resolve(dir, INDEX_FILE));
  if (index === 'hnsw' && !saved)
    throw new Error(`${dir}: no saved HNSW index (run \`kdrec index build --export ${dir}\`)`);
  const useHnsw = index === 'hnsw' || (index === 'auto' && saved);
  return {
    dir,
    bundle,
    index: useHnsw ? HnswIndex.load(dir, m) : new ExactIndex(m.dim, bundle.itemVectors, 2000),
    indexKind: useHnsw ? 'hnsw' : 'exact',
    loadedAt: new Date().toISOString(),
    userState: OnlineUserState.forExport(bundle),
  };
}
