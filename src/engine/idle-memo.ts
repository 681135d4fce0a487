// The memo of idle services: a periodic run over many services mostly finds each one as it left
// it, and makes the same decision again (no step, nothing to write) from the same state file,
// settings, certificate file and DNS answers. The memo keeps, per service, hashes of those inputs
// and what the report says of the chains' readiness; a later run that finds every input the same,
// before the decision's time runs out (rollover/stable.ts), takes the report and skips reading,
// checking and deciding. The
// servers are still asked every time: what they serve is an input like the others.
//
// A cache only: one file in the state dir, written atomically when it changed, never needed. A
// missing, stale or damaged memo costs one full run; an entry whose inputs differ is not used.
// Only a quiet decision is kept (no warning, no wait, no next key, no pinned CA files read each run).
import { hash as digest } from 'node:crypto';
import { join } from 'node:path';
import { Exit } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import { quietRenewalStamp, certFileStamp } from '../acme/renewal.js';
import { readBounded } from '../io/read-bounded.js';
import { statsKey } from '../io/file-stamp.js';
import { writeFileAtomicAsync } from '../state/atomic.js';
import { stateFileStat } from '../state/store.js';
import { decisionStableUntil } from '../rollover/stable.js';
import type { OwnedRecord, Presence } from '../rollover/types.js';
import { dnsContext, observe, standingWarnings, type DnsContext, type RunDns } from './dns-context.js';
import { observationErrors } from './run-parts.js';
import type { Prepared } from './run.js';
import type { RunOptions, RunReport } from './types.js';

const FORMAT = 4;

/** The memo's file in a state dir. */
export const memoPath = (stateDir: string): string => join(stateDir, 'idle-memo.json');

/**
 * The longest an entry is trusted, whatever its thresholds say: a full run at least this often
 * (a timer every 5 minutes still reads and decides each service once an hour).
 */
export const MEMO_MAX_MS = 3_600_000;

/** Far larger than 10,000 entries; a bigger file is not ours to parse. */
const MAX_MEMO_BYTES = 64 * 1024 * 1024;

// Set by scripts/bundle.mjs from the sources' hash: another build may decide otherwise, so its
// entries are not used (the version alone does not change when the code does between releases).
declare const __DANE_HOOK_BUILD__: string | undefined;
const CODE = typeof __DANE_HOOK_BUILD__ === 'string' ? __DANE_HOOK_BUILD__ : 'dev';

interface Entry {
  /**
   * A hash of the inputs read before the servers are asked: the state file's stat when it was
   * read (statsKey: the same stat, the same text), the settings, and the renewal check's stamp
   * (acme/renewal.ts quietRenewalStamp).
   */
  inputs: string;
  /** A hash of what the servers served (observedKey). */
  observed: string;
  /** The names observed, when not just the configured ones (records of ours left at others). */
  names?: string[];
  /** Owned records: what a run with no server to ask counts as served (else not needed). */
  owned?: OwnedRecord[];
  at: number;
  until: number;
  /** Of the report as the run kept it, what a quiet idle one does not fix (quietReport). */
  readiness: RunReport['readiness'];
}

/** The report of a quiet idle advance: nothing done, nothing to say, nothing waiting. */
const quietReport = (service: string, readiness: RunReport['readiness']): RunReport => ({
  service,
  trigger: 'advance',
  steps: [],
  applied: true,
  warnings: [],
  unsafe: false,
  readiness,
  combos: [],
  held: [],
  exitCode: Exit.OK,
});

export class IdleMemo {
  private dirty = false;
  /** The services whose report this run took from the memo. */
  readonly replayed: string[] = [];

  private constructor(
    private readonly path: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** The state dir's memo; an empty one when there is none or it cannot be used. */
  static load(stateDir: string): IdleMemo {
    const path = memoPath(stateDir);
    let entries = new Map<string, Entry>();
    try {
      const text = readBounded(path, { max: MAX_MEMO_BYTES, missingOk: true })?.toString('utf8');
      const doc = text === undefined ? undefined : (JSON.parse(text) as { format?: unknown; code?: unknown; entries?: unknown });
      if (doc?.format === FORMAT && doc.code === CODE && typeof doc.entries === 'object' && doc.entries !== null) entries = new Map(Object.entries(doc.entries as Record<string, Entry>));
    } catch {
      // Unreadable or damaged: a cache, rebuilt by this run.
    }
    return new IdleMemo(path, entries);
  }

  /**
   * The report of `settings`' service when everything its last idle decision rested on is the
   * same now (asking the servers); undefined when anything differs: then the run decides.
   */
  async replay(stateDir: string, settings: ServiceSettings, opts: RunOptions, clock: () => number, shared: RunDns): Promise<RunReport | undefined> {
    const e = this.entries.get(settings.id);
    if (!usable(e) || !current(e, clock())) return undefined;
    try {
      const st = stateFileStat(stateDir, settings.id);
      const cert = certFileStamp(settings.source);
      if (!st || cert === undefined || inputsKey(statsKey(st), settings, cert) !== e.inputs) return undefined;
      const names = e.names ?? settings.tlsaNames;
      const ctx = await dnsContext(settings, opts.emit, names, shared);
      if (standingWarnings(ctx).length > 0) return undefined;
      const { presence, observations } = await observe(ctx, names, e.owned ?? []);
      if (observationErrors(observations).length > 0 || observedKey(names, presence, ctx) !== e.observed || !current(e, clock())) return undefined;
      this.replayed.push(settings.id);
      return quietReport(settings.id, e.readiness);
    } catch {
      return undefined; // whatever failed fails again, and is reported, in the run that decides
    }
  }

  /** Keeps `p`'s decision (prepared unlocked: idle) when it is quiet; `kept`: its report as the run keeps it. */
  record(p: Prepared, kept: RunReport): void {
    const e = entryOf(p, kept);
    if (e) {
      this.entries.set(p.settings.id, e);
      this.dirty = true;
    } else this.forget(p.settings.id);
  }

  forget(id: string): void {
    if (this.entries.delete(id)) this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomicAsync(this.path, JSON.stringify({ format: FORMAT, code: CODE, entries: Object.fromEntries(this.entries) }), 0o600);
  }
}

function entryOf(p: Prepared, kept: RunReport): Entry | undefined {
  const { settings, report, file } = p;
  if (!p.unlocked || p.loadedStat === undefined || p.trigger.kind !== 'advance' || p.trigger.certSeen !== undefined) return undefined;
  if (report.warnings.length > 0 || report.held.length > 0 || report.exitCode !== Exit.OK || report.nextAt !== undefined || report.unsafe) return undefined;
  // Inputs read from files other than the state file each run: not kept, so not memoised.
  if (settings.extraCaFiles.length > 0 || settings.nextKeyFile !== undefined || file.nextKeyFile !== undefined || settings.lineages || settings.lineage !== undefined) return undefined;
  const cert = quietRenewalStamp(settings.source, file);
  if (cert === undefined) return undefined;
  const until = Math.min(decisionStableUntil(file.rollover, p.d, p.options, p.now), p.now + MEMO_MAX_MS);
  if (until <= p.now) return undefined;
  // Kept small (10,000 services read it at every run): what the quiet report fixes is not stored,
  // and a report that is not exactly that (the text output keeps no combination of an idle
  // service's chains: only a pending chain's, and a pending chain is waiting) is not memoised.
  if (JSON.stringify(quietReport(settings.id, kept.readiness)) !== JSON.stringify(kept)) return undefined;
  const sameNames = p.names.length === settings.tlsaNames.length && p.names.every((n, i) => n === settings.tlsaNames[i]);
  return {
    inputs: inputsKey(statsKey(p.loadedStat), settings, cert),
    observed: observedKey(p.names, p.presence, p.ctx),
    ...(sameNames ? {} : { names: p.names }),
    ...(p.ctx.verified ? {} : { owned: file.rollover.owned }),
    at: p.now,
    until,
    readiness: kept.readiness,
  };
}

/** The observation as the decision read it (record keys sorted: the servers' order is no change). */
function observedKey(names: string[], presence: Record<string, Presence>, ctx: DnsContext): string {
  const lines = names.map((n) => {
    const p = presence[n];
    return p ? [n, [...p.everywhere].sort().join(','), [...p.anywhere].sort().join(','), p.ttl ?? '', p.complete ?? ''].join('\t') : n;
  });
  return hash(`${lines.join('\n')}\n${ctx.negativeTtl} ${ctx.verified} ${ctx.signed}`);
}

// One call, no Hash object: a tenth of createHash's cost on inputs this small.
// 128 bits of SHA-256: a cache key, kept short (10,000 of each are read at every run).
const hash = (text: string): string => digest('sha256', text, 'base64').slice(0, 22);

const inputsKey = (stateStat: string, settings: ServiceSettings, cert: string): string => hash(`${stateStat}\n${cert}\n${JSON.stringify(settings)}`);

/** An entry as this code writes them (the file is ours, but a damaged one must not throw). */
function usable(e: Entry | undefined): e is Entry {
  return (
    typeof e === 'object' && e !== null && typeof e.inputs === 'string' && typeof e.observed === 'string' && typeof e.at === 'number' && typeof e.until === 'number' &&
    (e.names === undefined || (Array.isArray(e.names) && e.names.every((n) => typeof n === 'string'))) && (e.owned === undefined || Array.isArray(e.owned)) &&
    typeof e.readiness === 'object' && e.readiness !== null && Object.entries(e.readiness).every(([k, v]) => ['inService', 'pending', 'next'].includes(k) && typeof v === 'boolean')
  );
}

/** Not before the time it was made (a clock set back), not after its decision's time ran out, never past the cap. */
const current = (e: Entry, now: number): boolean => now >= e.at && now < Math.min(e.until, e.at + MEMO_MAX_MS);
