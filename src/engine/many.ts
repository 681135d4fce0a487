// Many services in one run (advance over a state dir, `deploy --config`, a spooled batch): each
// service is locked, loaded, observed and decided on its own, concurrently, sharing one query
// pool and the zone facts (asked once per zone, not once per service). Then every plan runs at
// once, and its DNS changes meet at a barrier: when every running service waits on a change (or is
// done), the publishes of all of them go out per zone in as few messages as fit, then the
// withdrawals; a failed message fails only the services whose changes it carried. Order within a
// service is its plan's. The state is written once at the end, only when it changed (plus once
// before a publish leaves the machine: a crash then still knows the records it owns). Services go
// through in chunks (CHUNK_SIZE) so that memory does not grow with their number, two chunks at a
// time: one is prepared while the other writes and waits on DNS. Messages of both chunks to one
// zone take turns (dns/nsupdate.ts): each goes out once the one before it is served. An advance
// first asks the memo of idle services (idle-memo.ts): a service found as the last run left it
// takes that run's report, and is not read, checked or decided again.
import type { ServiceSettings } from '../config/types.js';
import { applyGroups } from '../dns/batch.js';
import { createQueryPool } from '../dns/pool.js';
import type { Backend, RecordChange } from '../dns/types.js';
import { ZoneCache } from '../dns/zone-cache.js';
import { IdleMemo } from './idle-memo.js';
import { writeFilesAtomic } from '../state/atomic.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { lockPath, saveServiceAsync } from '../state/store.js';
import type { RunDns } from './dns-context.js';
import { changesByZone, execute } from './execute.js';
import { materialCache } from './material-cache.js';
import { commitDecision, finishRun, prepareIdleOrLocked, type Prepared } from './run.js';
import { stateChanged } from './run-parts.js';
import type { Step } from '../rollover/types.js';
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

/**
 * Chunks in flight: the next chunk is locked, loaded, observed and decided (mostly CPU) while the
 * one before it writes its files and waits on DNS (mostly waiting). More would only hold more
 * chunks in memory: the CPU is busy by then.
 */
const CHUNKS_IN_FLIGHT = 2;

/**
 * Threads for the file system's work (libuv's default is 4): a chunk writes hundreds of files at
 * once, and four fsyncs at a time made them wait in line. Read by libuv when it first needs a
 * thread, which in a run over many services is after this point (config loading reads synchronously).
 */
const FS_THREADS = '16';

/** `keep`: what of each report outlives its chunk (the caller's output may need less than all of it). */
export async function runServices(stateDir: string, items: ManyItem[], opts: RunOptions = {}, chunkSize = CHUNK_SIZE, keepGiven?: (r: RunReport) => RunReport): Promise<ManyResult[]> {
  process.env.UV_THREADPOOL_SIZE ??= FS_THREADS;
  const keep = keepGiven ?? ((r: RunReport) => r);
  // Idle services are taken from the memo when the reports are kept short (the text output): the
  // memo keeps only that much of each (--json prints every combination's readiness).
  const memo = keepGiven && !opts.dryRun && !opts.force && items.some((it) => it.trigger.kind === 'advance') ? IdleMemo.load(stateDir) : undefined;
  const pool = createQueryPool();
  const shared: RunDns = { pool, zones: new ZoneCache(pool.query) };
  const results: ManyResult[] = new Array(items.length);
  const chunkOpts = { ...opts, read: opts.read ?? materialCache() };
  const sent = new SentZones();
  const running: Promise<void>[] = [];
  let early = takeEarly(stateDir, items.slice(0, chunkSize), opts);
  try {
    for (let at = 0; at < items.length; at += chunkSize) {
      if (running.length >= CHUNKS_IN_FLIGHT) await running.shift();
      const chunk = await prepareChunk(stateDir, items.slice(at, at + chunkSize), chunkOpts, shared, early, memo && { memo, keep });
      // Asked for before this chunk writes: the pool serves them ahead of its syncs.
      early = takeEarly(stateDir, items.slice(at + chunkSize, at + 2 * chunkSize), opts);
      running.push(runChunk(stateDir, chunk, chunkOpts, sent).then((r) => r.forEach((x, k) => (results[at + k] = x.report ? { report: keep(x.report) } : x))));
    }
    await Promise.all(running);
    // A cache: a memo that cannot be written (the state dir removed meanwhile, a full disk, which
    // the state writes report) costs the next run its shortcut, never this run its result.
    await memo?.save().catch(() => undefined);
    if (memo) opts.onMemo?.(memo.replayed);
    // The run ends when what it sent is served: the next run (a timer, a hook) may send at once.
    await sent.settled();
    return results;
  } finally {
    for (const e of early) e?.drop();
    pool.close();
  }
}

interface Chunk {
  items: ManyItem[];
  results: ManyResult[];
  prepared: (Prepared | undefined)[];
  locks: { release(): void }[];
}

/**
 * A chunk's services locked, loaded, observed and decided, concurrently; failures kept per service.
 * An idle service (prepared unlocked: no step, nothing to write) is done there: only its report is
 * kept, and the rest (its state, answers, decision) is garbage at once, not carried (and promoted
 * by the collector) until the chunk has run.
 */
async function prepareChunk(stateDir: string, items: ManyItem[], opts: RunOptions, shared: RunDns, early: (EarlyLock | undefined)[], memoed?: { memo: IdleMemo; keep: (r: RunReport) => RunReport }): Promise<Chunk> {
  const clock = opts.now ?? Date.now;
  const chunk: Chunk = { items, results: new Array(items.length), prepared: new Array(items.length), locks: [] };
  await eachLimit(items, PREPARE_CONCURRENCY, async (it, i) => {
    const take = () => early[i]?.take() ?? acquireLock(lockPath(stateDir, it.settings.id));
    const memo = it.trigger.kind === 'advance' ? memoed?.memo : undefined;
    try {
      const again = await memo?.replay(stateDir, it.settings, { ...opts, emit: it.emit }, clock, shared);
      if (again) {
        chunk.results[i] = { report: again };
        return;
      }
      const { p, lock } = await prepareIdleOrLocked(stateDir, it.settings, it.trigger, { ...opts, emit: it.emit }, clock, shared, take);
      if (lock) chunk.locks.push(lock);
      if (p.unlocked) {
        chunk.results[i] = { report: p.report };
        memo?.record(p, memoed!.keep(p.report));
      } else {
        chunk.prepared[i] = p;
        memo?.forget(it.settings.id);
      }
    } catch (error) {
      chunk.results[i] = { error };
      memo?.forget(it.settings.id);
    }
  });
  // Not expected (a deploy locks before anything else): a lock taken early that no run took is let go.
  for (const e of early) e?.drop();
  return chunk;
}

interface EarlyLock {
  take(): Promise<Lock>;
  drop(): void;
}

/**
 * A deploy locks each service before anything else, so a chunk's locks are asked for at once, and
 * before the chunk ahead of it writes: their file system calls would otherwise queue on the libuv
 * pool behind that chunk's syncs, PREPARE_CONCURRENCY at a time. (An advance locks only the
 * services that have work, once it knows: a no-op run takes none.)
 */
function takeEarly(stateDir: string, items: ManyItem[], opts: RunOptions): (EarlyLock | undefined)[] {
  return items.map((it) => {
    if (opts.dryRun || it.trigger.kind === 'advance') return undefined;
    const lock = acquireLock(lockPath(stateDir, it.settings.id));
    lock.catch(() => {}); // its taker sees the failure; none may be awaiting it yet
    let taken = false;
    return {
      take: () => ((taken = true), lock),
      drop: () => void (taken || lock.then((l) => l.release(), () => {})),
    };
  });
}

/** A prepared chunk: every plan at once through one barrier, locks released after. Never rejects. */
async function runChunk(stateDir: string, chunk: Chunk, opts: RunOptions, sent: SentZones): Promise<ManyResult[]> {
  const clock = opts.now ?? Date.now;
  const { prepared, results } = chunk;
  try {
    if (opts.dryRun) return prepared.map((p, i) => (p ? { report: p.report } : results[i]!));
    const barrier = new ChangeBarrier(prepared.filter(Boolean).length, sent);
    await Promise.all(
      prepared.map(async (p, i) => {
        if (!p) return;
        try {
          // A line added to the history is a change: no need to serialize the state to see one.
          const historyAtLoad = p.file.history.length;
          let outcome: Awaited<ReturnType<typeof execute>>;
          try {
            await commitDecision(p, writeFilesAtomic);
            outcome = await execute(
              { stateDir, file: p.file, settings: p.settings, dns: p.ctx, now: p.now, send: (changes) => barrier.send(p, changes), save: async (beforeSend) => beforeSend && (await saveServiceAsync(stateDir, p.file, false)), write: writeFilesAtomic },
              p.d.plan,
            );
          } finally {
            barrier.leave();
          }
          // finishRun looks again after a publish: what was sent must be served by then.
          if (outcome.done.some((s) => s.kind === 'publish')) await settledFor(p, outcome.done);
          await finishRun(p, outcome.done, outcome.held, clock);
          // The service's folder is tidied once, at the last save, when this run stored a chain
          // there (a killed run's leftovers go when its rerun stores the chain again).
          if (p.file.history.length > historyAtLoad || stateChanged(p)) await saveServiceAsync(stateDir, p.file, p.deployed !== undefined);
          results[i] = { report: p.report };
        } catch (error) {
          results[i] = { error };
        }
      }),
    );
    return results;
  } catch (error) {
    // Not expected (each service catches its own): every service of the chunk fails with it.
    return chunk.items.map((_, i) => results[i] ?? { error });
  } finally {
    for (const l of chunk.locks) l.release();
  }
}

/** Until the zones of the names a service published serve what was sent there. */
async function settledFor(p: Prepared, done: Step[]): Promise<void> {
  const zones = new Set(done.flatMap((s) => (s.kind === 'publish' ? [p.ctx.zoneOf[s.name] ?? ''] : [])));
  await Promise.all([...zones].map((z) => p.ctx.backend.settled?.(z)));
}

/** The backends and zones a run sent changes to: the run waits for them to be served before it ends. */
class SentZones {
  private readonly seen = new Map<string, { backend: Backend; zone: string }>();
  add(key: string, backend: Backend, zone: string): void {
    if (!this.seen.has(key)) this.seen.set(key, { backend, zone });
  }
  async settled(): Promise<void> {
    await Promise.all([...this.seen.values()].map(({ backend, zone }) => backend.settled?.(zone)));
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
  constructor(
    private active: number,
    private readonly sent: SentZones,
  ) {}

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
          this.sent.add(key, bucket.backend, zone);
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
