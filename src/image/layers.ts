import { ResourceError } from '../inputs/errors';
import { formatBytes } from '../markdown/markdown';
import { tarSize, type TarEntry } from './tar';

/**
 * How the model's entries are cut into layers. Each large file gets a layer to itself: its digest
 * then depends only on its path, mode and bytes, so an unchanged shard of a retrained model is
 * never uploaded again, and shards upload side by side. Everything else (small files,
 * directories, symlinks) shares layers. No layer may reach `limit` (GHCR refuses layers over
 * 10 GB); a single file that cannot fit is refused by name.
 */
export interface LayerPlanOptions {
  /** Largest archive a layer may be, in bytes. */
  limit: number;
  /** Files of at least this many bytes get a layer of their own. */
  ownLayerAt: number;
  /** More model layers than this and large files are packed together instead. */
  maxLayers: number;
}

/** GHCR's layer limit is 10 GB; keep clear of it. */
export const DEFAULT_LAYER_PLAN: LayerPlanOptions = { limit: 10_000_000_000 - 64 * 1024 * 1024, ownLayerAt: 64 * 1024 * 1024, maxLayers: 48 };

function ancestors(path: string, directories: Map<string, TarEntry>): TarEntry[] {
  const parts = path.split('/');
  const out: TarEntry[] = [];
  for (let i = 1; i < parts.length; i++) {
    const dir = directories.get(parts.slice(0, i).join('/'));
    if (dir) out.push(dir);
  }
  return out;
}

/** Group entries into layers, each entry list in archive order (parents before children). */
export function planLayers(entries: readonly TarEntry[], options: LayerPlanOptions = DEFAULT_LAYER_PLAN): TarEntry[][] {
  const directories = new Map(entries.filter((e) => e.type === 'directory').map((e) => [e.path, e]));
  for (const entry of entries) {
    if (entry.type === 'file' && tarSize([...ancestors(entry.path, directories), entry]) > options.limit) {
      throw new ResourceError(`Model file "${entry.source ?? entry.path}"`, `is ${formatBytes(entry.size)}, larger than one image layer may be (${formatBytes(options.limit)}); split it into parts`);
    }
  }
  const large = entries.filter((e) => e.type === 'file' && e.size >= options.ownLayerAt);
  const small = entries.filter((e) => !(e.type === 'file' && e.size >= options.ownLayerAt));

  const pack = (items: readonly TarEntry[]): TarEntry[][] => {
    const layers: TarEntry[][] = [];
    let current: TarEntry[] = [];
    let present = new Set<string>();
    for (const entry of items) {
      const needed = ancestors(entry.path, directories).filter((dir) => !present.has(dir.path));
      const addition = entry.type === 'directory' && present.has(entry.path) ? [] : [...needed, entry];
      if (current.length > 0 && tarSize([...current, ...addition]) > options.limit) {
        layers.push(current);
        current = [];
        present = new Set();
        addition.splice(0, addition.length, ...ancestors(entry.path, directories), entry);
      }
      for (const item of addition) {
        current.push(item);
        if (item.type === 'directory') present.add(item.path);
      }
    }
    if (current.length > 0) layers.push(current);
    return layers;
  };

  // Directories the large files' layers carry anyway need no layer of their own.
  const carried = new Set(large.flatMap((file) => ancestors(file.path, directories).map((dir) => dir.path)));
  const smallLayers = large.length === 0 || small.some((e) => !carried.has(e.path)) ? pack(small) : [];
  const ownLayers = large.map((file) => [...ancestors(file.path, directories), file]);
  if (smallLayers.length + ownLayers.length <= options.maxLayers) return [...smallLayers, ...ownLayers];
  return pack(entries);
}
