// One run of dane-hook for one service: lock, load state, observe DNS, fold in what the hook was
// called for, plan, check the plan, then apply it step by step, saving state before each change
// leaves the machine, so a crash at any point is followed by a rerun that converges.
import { existsSync, statSync } from 'node:fs';
import { Exit } from '../errors.js';
import type { CertFiles } from '../acme/types.js';
import type { ServiceSettings } from '../config/types.js';
import type { NameObservation } from '../dns/types.js';
import { recordKey } from '../tlsa/record.js';
import { announceNextKey, deploy, emptyState } from '../rollover/events.js';
import { chainReady, plan as makePlan } from '../rollover/planner.js';
import { updateSeen } from '../rollover/seen.js';
import { unsafeWithdrawals } from '../rollover/safety.js';
import type { Plan, Presence, RolloverState, Step } from '../rollover/types.js';
import { acquireLock } from '../state/lock.js';
import { loadService, lockPath, saveService, type ServiceFile } from '../state/store.js';
import { loadDeployedChain, nextKeyRef, pinRecords, storeChain } from './chain.js';
import { UNVERIFIED, dnsContext, observe } from './dns-context.js';
import { reload } from './activate.js';
import { execute } from './execute.js';
import { keyInUse, resolveNextKey } from './next-key.js';

export type Trigger =
  | { kind: 'deploy'; files: CertFiles }
  | { kind: 'pre-renew'; nextKeyFile?: string; generate?: boolean }
  | { kind: 'advance' };

export interface RunOptions {
  dryRun?: boolean;
  force?: boolean;
  now?: () => number;
  /** Where the emit backend prints (default stdout). */
  out?: { write(s: string): unknown };
}

export interface RunReport {
  service: string;
  trigger: Trigger['kind'];
  steps: Step[];
  applied: boolean;
  warnings: string[];
  /** Direct mode: a chain went live before a ready record matched it. */
  unsafe: boolean;
  /** pre-renew: the next key's record is ready (the renewal may use it). */
  nextReady?: boolean;
  nextAt?: number;
  readiness: Plan['readiness'];
  held: string[];
  exitCode: number;
  /** With --json: what the emit backend printed. */
  emitted?: string;
}

function newFile(settings: ServiceSettings, now: number): ServiceFile {
  return { version: 1, id: settings.id, settings, rollover: emptyState(), chains: {}, history: [], updatedAt: now };
}

/**
 * Owned records that are gone everywhere and no longer wanted were withdrawn: forget them. Only
 * when every server answered: a server that timed out proves nothing.
 */
function forgetWithdrawn(state: RolloverState, presence: Record<string, Presence>, wanted: Set<string>): RolloverState {
  const gone = (name: string, key: string) => presence[name]?.complete === true && !presence[name]!.anywhere.has(key);
  const owned = state.owned.filter((o) => wanted.has(recordKey(o.record)) || !gone(o.name, recordKey(o.record)));
  return owned.length === state.owned.length ? state : { ...state, owned };
}

function wantedKeys(state: RolloverState, pins: { data: string }[]): Set<string> {
  return new Set(
    [state.inService, state.pending, state.next, state.retiring].flatMap((c) => c?.records ?? []).concat(pins as never[]).map((r) => recordKey(r)),
  );
}

export async function runService(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions = {}): Promise<RunReport> {
  const clock = opts.now ?? Date.now;
  const lock = opts.dryRun ? { release() {} } : await acquireLock(lockPath(stateDir, settings.id));
  try {
    return await runLocked(stateDir, settings, trigger, opts, clock);
  } finally {
    lock.release();
  }
}

async function runLocked(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions, clock: () => number): Promise<RunReport> {
  const file = loadService(stateDir, settings.id) ?? newFile(settings, clock());
  file.settings = settings;
  const warnings: string[] = [];
  const pins = pinRecords(settings);

  // Read the inputs before touching DNS: bad files must make no change.
  const loaded = trigger.kind === 'deploy' ? loadDeployedChain(trigger.files, settings, pins) : undefined;
  if (loaded) warnings.push(...loaded.warnings);
  const nextKeyFile = resolveNextKey(stateDir, file, settings, trigger, opts.dryRun);
  // acme.sh empties its .key.next once used: an empty file means no next key.
  const next = nextKeyFile && existsSync(nextKeyFile) && statSync(nextKeyFile).size > 1 ? nextKeyRef(nextKeyFile, settings) : undefined;

  // Names that left the config still hold records of ours: observe them too, to withdraw them.
  const names = [...new Set([...settings.tlsaNames, ...file.rollover.owned.map((o) => o.name)])];
  const ctx = await dnsContext(settings, opts.out, names);
  // Unverifiable emit is said when something is emitted, not on every quiet timer run.
  warnings.push(...ctx.warnings.filter((w) => ctx.verified || !w.startsWith(UNVERIFIED)));
  const { presence, observations } = await observe(ctx, names, file.rollover.owned);
  warnings.push(...observationErrors(observations));
  const now = clock();
  let state = updateSeen(file.rollover, { now, ttl: settings.ttl, negativeTtl: ctx.negativeTtl, presence });

  let unsafe = false;
  let holdWithdrawals: string | undefined;
  let deployedNew = false;
  if (loaded) {
    const nothingPublished = settings.tlsaNames.every((n) => (presence[n]?.anywhere.size ?? 0) === 0);
    const r = deploy(state, loaded.ref, { staged: settings.activateDir !== undefined, names: settings.tlsaNames, now, nothingPublished });
    state = r.state;
    unsafe = r.unsafe;
    deployedNew = !r.known;
    if (!r.known) {
      if (!opts.dryRun) file.chains[loaded.ref.id] = storeChain(stateDir, settings.id, loaded, now);
      file.history.push({ at: now, what: `deployed ${loaded.info.subject} (${loaded.ref.id.slice(0, 12)}) from ${trigger.kind === 'deploy' ? trigger.files.client : ''}` });
    }
    if (unsafe) {
      warnings.push(
        `UNSAFE: the new certificate went live before a ready TLSA record matched it; DANE clients holding cached records may fail for up to 2 x TTL. Use --activate-dir (staged mode) or a next key to avoid this`,
      );
    }
    // Direct mode: until the service has reloaded it may still present the previous chain.
    if (!settings.activateDir && !r.known && !r.first && !settings.connect) {
      holdWithdrawals = 'the service may present the previous certificate until it reloads: stale records go at the next advance';
    }
  }
  // A next key that a chain in service or pending already uses is no longer "next".
  if (next && !keyInUse(state, next.ref)) {
    state = announceNextKey(state, next.ref);
    file.nextKeyFile = nextKeyFile;
  } else if (next) file.nextKeyFile = undefined;
  state = forgetWithdrawn(state, presence, wantedKeys(state, pins));

  const plan = makePlan({ now, names: settings.tlsaNames, ttl: settings.ttl, pins, state, presence, pollMs: pollMs(settings.ttl) });
  // Withdrawals that would empty a name or take most of it wait for --force; the rest goes ahead.
  const risky = unsafeWithdrawals(plan, presence);
  let refused = false;
  if (risky.reasons.length > 0 && !opts.force) {
    plan.steps = plan.steps.filter((st) => st.kind !== 'withdraw' || !risky.names.has(st.name));
    warnings.push(`withdrawal refused: ${risky.reasons.join('; ')}; rerun with --force if that is intended`);
    refused = true;
  }
  if (holdWithdrawals && plan.steps.some((st) => st.kind === 'withdraw')) {
    plan.steps = plan.steps.filter((st) => st.kind !== 'withdraw');
    plan.held.push(holdWithdrawals);
  }

  if (!ctx.verified && plan.steps.some((st) => st.kind !== 'promote')) warnings.push(...ctx.warnings.filter((w) => w.startsWith(UNVERIFIED)));
  const report: RunReport = {
    service: settings.id,
    trigger: trigger.kind,
    steps: plan.steps,
    applied: !opts.dryRun,
    warnings,
    unsafe,
    nextAt: plan.nextAt,
    readiness: plan.readiness,
    held: plan.held,
    exitCode: unsafe ? Exit.UNSAFE : refused ? Exit.UNSAFE_PLAN : Exit.OK,
  };
  if (trigger.kind === 'pre-renew') {
    report.nextReady = state.next ? chainReady(state, settings.tlsaNames, state.next, now) : undefined;
    if (report.nextReady === false) report.exitCode = Exit.NOT_READY;
  }
  if (opts.dryRun) return report;

  file.rollover = state;
  const held = await execute(stateDir, file, settings, ctx, plan.steps, now);
  // Direct mode: the client installed the files; --reload makes the service read them.
  if (deployedNew && !settings.activateDir && settings.reload) await reload(settings.reload);
  if (held) {
    // The withdrawals did not happen: the report must not list them as done.
    report.steps = report.steps.filter((st) => st.kind !== 'withdraw');
    report.held.push(held);
    report.warnings.push(held);
    report.exitCode = Math.max(report.exitCode, Exit.NOT_VERIFIED);
  }
  if (plan.steps.some((s) => s.kind === 'publish')) {
    // Look again at once: the wait for readiness starts when every server serves the new
    // records, and on a single primary that is now, not at the next run.
    const again = await observe(ctx, names, file.rollover.owned);
    file.rollover = updateSeen(file.rollover, { now: clock(), ttl: settings.ttl, negativeTtl: ctx.negativeTtl, presence: again.presence });
    const after = makePlan({ now: clock(), names: settings.tlsaNames, ttl: settings.ttl, pins, state: file.rollover, presence: again.presence, pollMs: pollMs(settings.ttl) });
    report.nextAt = after.nextAt;
    if (trigger.kind === 'pre-renew' && file.rollover.next) {
      report.nextReady = chainReady(file.rollover, settings.tlsaNames, file.rollover.next, clock());
      report.exitCode = report.nextReady ? Exit.OK : Exit.NOT_READY;
    }
  }
  // After a promotion this run, the pre-renew gate looks at the state as it now stands.
  file.updatedAt = clock();
  saveService(stateDir, file);
  return report;
}

/** One warning per server that did not answer, so a failed observation is never silent. */
function observationErrors(observations: NameObservation[]): string[] {
  const failed = new Map<string, string>();
  for (const o of observations) for (const a of o.answers) if (a.status === 'error') failed.set(a.server, a.error ?? 'no answer');
  return [...failed].map(([server, error]) => `authoritative server ${server} did not answer (${error}); records are not counted as served there`);
}

/** How soon to look again while a record is not yet served everywhere: about a TTL, 1 s to 60 s. */
export const pollMs = (ttl: number): number => Math.min(60_000, Math.max(1000, ttl * 1000));
