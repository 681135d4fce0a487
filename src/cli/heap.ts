// How far the heap may grow in a run over many services. Such a run waits on DNS and disks, so
// V8 sees its collector idle and lets the heap grow to about four times what is live before it
// collects again (measured at 10,000 services: 55 MB live, 200 MB heap, 330 MB resident). A
// smaller growth factor keeps the resident size near what the run really holds, for a few more
// collections, which such a run has the idle time for.
import { setFlagsFromString } from 'node:v8';

/**
 * The heap grows by this share of what is live before the next full collection (V8: up to 300%).
 * 30% left a 10,000-service renewal deploy at 204-220 MB resident; 20% at 187-200 MB (paired runs
 * and two full benchmarks); 15% at 189 MB, with no run of the benchmark slower for it.
 */
const GROWTH_PERCENT = 15;

let bounded = false;

/** V8 reads this setting at each collection, so it applies from here on; once per process. */
export function boundHeapGrowth(): void {
  if (bounded) return;
  bounded = true;
  setFlagsFromString(`--heap-growing-percent=${GROWTH_PERCENT}`);
}
