// Many services in one run (advance over a state dir, `deploy --config`, a spooled batch): each
// service is locked, loaded, observed and decided on its own, concurrently, sharing one query
// pool and the zone facts (asked once per zone, not once per service). Then every plan runs at
// once, and its DNS changes meet at a barrier: when every running service waits on a change (or is
// done), the publishes of all of them go out per zone in as few messages as fit, then the
// withdrawals; a failed message fails only the services whose changes it carried. Order within a
// service is its plan's. The state is written once at the end, only when it changed (plus once
// before a publish leaves the machine: a crash then still knows the records it owns). Services go
// through in chunks (CHUNK_SIZE) so that memory does not grow with their number.
import type { ServiceSettings } from '../config/types.js';
import { applyGroups } from '../dns/batch.js';
import { createQueryPool } from '../dns/pool.js';
import type { Backend, RecordChange } from '../dns/types.js';
import { ZoneCache } from '../dns/zone-cache.js';
import { writeFilesAtomic } from '../state/atomic.js';
import { acquireLock } from '../state/lock.js';
import { lockPath, saveServiceAsync } from '../state/store.js';
import type { RunDns } from './dns-context.js';
import { changesByZone, execute } from './execute.js';
import { materialCache } from './material-cache.js';
import { commitDecision, finishRun, prepareRun, stateText, type Prepared } from './run.js';
import type { EmitSink, RunOptions, RunReport, Trigger } from './types.js';

export interface ManyItem {
  settings: ServiceSettings;
  trigger: Trigger;
  /** Where this service's emit backend prints. */
  emit?: EmitSink;
}

export type ManyResult = { report: RunReport; error?: undefined } | { error: unknown; report?: undefined };

/** Services prepared (locked, observed, decided) at the same time. */
const PREPARE_CONCURRENCY = 32;

/**
 * Services carried through together: their prepared runs (state, observations, decisions, chain
 * copies) are dropped before the next chunk starts, so memory stays flat however many services a
 * run has; each chunk still sends one UPDATE per zone per phase.
 */
export const CHUNK_SIZE = 256;

/** `keep`: what of each report outlives its chunk (the caller's output may need less than all of it). */
export async function runServices(stateDir: string, items: ManyItem[], opts: RunOptions = {}, chunkSize = CHUNK_SIZE, keep: (r: RunReport) => RunReport = (r) => r): Promise<ManyResult[]> {
  const pool = createQueryPool();
  const shared: RunDns = { pool, zones: new ZoneCache(pool.query) };
  const results: ManyResult[] = [];
  const chunkOpts = { ...opts, read: opts.read ?? materialCache() };
  try {
    for (let at = 0; at < items.length; at += chunkSize) {
      for (const r of await runChunk(stateDir, items.slice(at, at + chunkSize), chunkOpts, shared)) results.push(r.report ? { report: keep(r.report) } : r);
    }
    return results;
  } finally {
    pool.close();
  }
}

/** One chunk: prepared concurrently, then every plan at once through one barrier, locks released after. */
async function runChunk(stateDir: string, items: ManyItem[], opts: RunOptions, shared: RunDns): Promise<ManyResult[]> {
  const clock = opts.now ?? Date.now;
  const results: ManyResult[] = new Array(items.length);
  const locks: { release(): void }[] = [];
  const prepared: (Prepared | undefined)[] = new Array(items.length);
  try {
    await eachLimit(items, PREPARE_CONCURRENCY, async (it, i) => {
      try {
        if (!opts.dryRun) locks.push(await acquireLock(lockPath(stateDir, it.settings.id)));
        prepared[i] = await prepareRun(stateDir, it.settings, it.trigger, { ...opts, emit: it.emit }, clock, shared);
      } catch (error) {
        results[i] = { error };
      }
    });
    if (opts.dryRun) return prepared.map((p, i) => (p ? { report: p.report } : results[i]!));

    const barrier = new ChangeBarrier(prepared.filter(Boolean).length);
    await Promise.all(
      prepared.map(async (p, i) => {
        if (!p) return;
        try {
          let outcome: Awaited<ReturnType<typeof execute>>;
          try {
            await commitDecision(p, writeFilesAtomic);
            outcome = await execute(
              { stateDir, file: p.file, settings: p.settings, dns: p.ctx, now: p.now, send: (changes) => barrier.send(p, changes), save: async (beforeSend) => beforeSend && (await saveServiceAsync(stateDir, p.file)), write: writeFilesAtomic },
              p.d.plan,
            );
          } finally {
            barrier.leave();
          }
          await finishRun(p, outcome.done, outcome.held, clock);
          if (stateText(p.file) !== p.loadedText) await saveServiceAsync(stateDir, p.file);
          results[i] = { report: p.report };
        } catch (error) {
          results[i] = { error };
        }
      }),
    );
    return results;
  } finally {
    for (const l of locks) l.release();
  }
}

interface Waiting {
  p: Prepared;
  changes: RecordChange[];
  resolve(): void;
  reject(e: unknown): void;
}

/**
 * Holds each service's changes until every running service waits on one (or is done), then sends
 * them all: adds first, then deletes, per backend and zone. A service has one send at a time.
 */
class ChangeBarrier {
  private waiting: Waiting[] = [];
  constructor(private active: number) {}

  send(p: Prepared, changes: RecordChange[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ p, changes, resolve, reject });
      this.flushIfAllWait();
    });
  }

  leave(): void {
    this.active--;
    this.flushIfAllWait();
  }

  private flushIfAllWait(): void {
    if (this.waiting.length === 0 || this.waiting.length < this.active) return;
    const batch = this.waiting;
    this.waiting = [];
    void this.flush(batch);
  }

  private async flush(batch: Waiting[]): Promise<void> {
    for (const op of ['add', 'delete'] as const) {
      const list = batch.filter((w) => (w.changes[0]?.op ?? 'add') === op);
      const buckets = new Map<string, { backend: Backend; zone: string; entries: { w: Waiting; changes: RecordChange[] }[] }>();
      for (const w of list) {
        for (const [zone, changes] of changesByZone(w.p.ctx, w.changes)) {
          const key = `${batchKey(w.p)}\n${zone}`;
          const bucket = buckets.get(key) ?? { backend: w.p.ctx.backend, zone, entries: [] };
          bucket.entries.push({ w, changes });
          buckets.set(key, bucket);
        }
      }
      const failed = new Map<Waiting, unknown>();
      await Promise.all(
        [...buckets.values()].map(async (b) => {
          try {
            const res = await applyGroups(b.backend, b.zone, b.entries.map((e) => ({ id: e.w.p.settings.id, changes: e.changes })));
            res.forEach((r, k) => r.error && !failed.has(b.entries[k]!.w) && failed.set(b.entries[k]!.w, r.error));
          } catch (e) {
            for (const entry of b.entries) if (!failed.has(entry.w)) failed.set(entry.w, e);
          }
        }),
      );
      for (const w of list) (failed.has(w) ? w.reject(failed.get(w)) : w.resolve());
    }
  }
}

/**
 * Services whose changes may share a message: the same batching backend with the same settings.
 * A backend that cannot batch (emit prints to each service's own output) stays per service.
 */
function batchKey(p: Prepared): string {
  return p.ctx.backend.applyGroups ? `${p.ctx.backend.name} ${JSON.stringify(p.settings.dns)}` : `service ${p.settings.id}`;
}

async function eachLimit<T>(items: T[], limit: number, f: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await f(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
