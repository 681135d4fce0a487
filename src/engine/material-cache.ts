// Certificate and key files parsed once per run. An advance over many services reads each
// lineage's cert.pem to spot a renewal no hook reported, and the deploy it then runs reads it
// again with the chain and the key (whose check is the costly part); the extra CA files are the
// same for every service. Keyed by path and what stat says of the file, so a file replaced during
// the run is read again; bounded, so memory does not grow with the number of services.
import { fileStamp } from '../io/file-stamp.js';
import { loadMaterial, type Material, type MaterialReader } from '../tlsa/load.js';

/** Files kept: a chunk of services' cert, chain, fullchain and key, plus shared CA files. */
const MAX_FILES = 2048;

export function materialCache(max = MAX_FILES): MaterialReader {
  const cache = new Map<string, { stamp: string; material: Material }>();
  return (path) => {
    let stamp: string;
    try {
      if (path === '-') return loadMaterial(path); // standard input is read once, never cached
      stamp = fileStamp(path);
    } catch {
      return loadMaterial(path); // missing, unreadable: the loader says so in its words
    }
    const hit = cache.get(path);
    if (hit && hit.stamp === stamp) {
      cache.delete(path); // most recently used last: the oldest is dropped first
      cache.set(path, hit);
      return hit.material;
    }
    // A parse error is thrown, not cached: the next read of a fixed file sees the fix.
    const material = loadMaterial(path);
    cache.set(path, { stamp, material });
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    return material;
  };
}
