// One run of dane-hook for one service, I/O only: lock, load (each input once), observe DNS,
// let the rollover core decide, then carry out its plan step by step (execute.ts), saving the
// state applyStep returns, so a crash at any point is followed by a rerun that converges.
import type { Stats } from 'node:fs';
import { Exit, worst } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import { decide } from '../rollover/decide.js';
import type { ChainReadiness, ChainRef, DecideTrigger, Presence, Step } from '../rollover/types.js';
import type { FilesWriter } from '../state/atomic.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { loadServiceText, lockPath, saveService, stateFileStat, stateFileText, type ServiceFile } from '../state/store.js';
import { sameStats, settledStamp } from '../io/file-stamp.js';
import { loadDeployedChain, storeChain } from './chain.js';
import { pinRecords } from '../tlsa/pins.js';
import { UNVERIFIED, confirmZones, dnsContext, observe, standingWarnings, type DnsContext, type RunDns } from './dns-context.js';
import { checkActivateDir } from './activate.js';
import { execute } from './execute.js';
import { loadNextKey } from './next-key.js';
import { decideOptions } from './options.js';
import type { RunOptions, RunReport, Trigger } from './types.js';
import { rrsetSizeWarnings } from './rrset-size.js';
import { newFile, observationErrors, roleReadiness, stateChanged, withValidity } from './run-parts.js';
import { runLineagesLocked } from './run-lineages.js';

export type { RunOptions, RunReport, Trigger } from './types.js';
export { roleReadiness } from './run-parts.js';

export async function runService(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions = {}): Promise<RunReport> {
  const clock = opts.now ?? Date.now;
  const lock = opts.dryRun ? { release() {} } : await acquireLock(lockPath(stateDir, settings.id));
  try {
    // Several lineages (RSA + ECDSA on the same names): one run decides them together. A lineage's
    // view (check, status) is never run alone: it would read the state file's other slot.
    if (settings.lineage !== undefined) throw new Error(`internal: the view of lineage ${settings.lineage} of ${settings.id} was run on its own`);
    if (settings.lineages) return await runLineagesLocked(stateDir, settings, trigger, opts, clock);
    return await runLocked(stateDir, settings, trigger, opts, clock);
  } finally {
    lock.release();
  }
}

/** A service's run up to the decision: what the engine then carries out, alone or in a batch. */
export interface Prepared {
  stateDir: string;
  settings: ServiceSettings;
  trigger: Trigger;
  file: ServiceFile;
  /** The state file's text as read ('' for a new service), to write only when something changed. */
  loadedText: string;
  /** Its updatedAt: the time of writing is no change. */
  loadedAt: number;
  /** Its fstat at that read, when settled: the same stat under the lock is the same text (no second read). */
  loadedStat?: Stats;
  ctx: DnsContext;
  names: string[];
  /** What the servers served (the decision's observation). */
  presence: Record<string, Presence>;
  options: ReturnType<typeof decideOptions>;
  d: ReturnType<typeof decide>;
  report: RunReport;
  now: number;
  nextOf: (r: ChainReadiness[]) => boolean | undefined;
  /** A chain this deploy brings that the state does not know yet: stored when the decision is committed. */
  deployed?: { ref: ChainRef; store: (write?: FilesWriter) => Promise<ServiceFile['chains'][string]>; what: string };
  nextKey?: { path: string; used?: boolean; has: boolean };
  /** Prepared without the service's lock (prepareIdle): it must find nothing to write. */
  unlocked?: true;
}

async function runLocked(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions, clock: () => number): Promise<RunReport> {
  const p = await prepareRun(stateDir, settings, trigger, opts, clock);
  if (opts.dryRun) return p.report;
  await commitDecision(p);
  saveService(stateDir, p.file);
  const { done, held } = await execute({ stateDir, file: p.file, settings, dns: p.ctx, now: p.now }, p.d.plan);
  await finishRun(p, done, held, clock);
  saveService(stateDir, p.file);
  return p.report;
}

/** Lock held by the caller: load (each input once), check, observe, decide. Changes nothing. */
export async function prepareRun(stateDir: string, settings: ServiceSettings, given: Trigger, opts: RunOptions, clock: () => number, shared: RunDns = {}): Promise<Prepared> {
  const loadedState = loadServiceText(stateDir, settings.id);
  const loadedText = loadedState?.text ?? '';
  const loadedStat = loadedState?.settled;
  const trigger = given.kind === 'advance' && opts.renewalCheck ? opts.renewalCheck(settings, loadedState?.file) : given;
  const file = loadedState?.file ?? newFile(settings, clock());
  const loadedAt = file.updatedAt;
  file.settings = settings;
  file.rollover = withValidity(file.rollover, file);
  const warnings: string[] = [];

  // Everything that can be bad input is read and checked before DNS is touched. An advance
  // writes the activate dir only to promote: it is checked then (below), not on every idle run.
  if (settings.activateDir && trigger.kind !== 'advance') checkActivateDir(settings.activateDir);
  const pins = pinRecords(settings.extraCaFiles, settings.records, opts.read);
  const stamp = trigger.kind === 'deploy' ? settledStamp(trigger.files.cert) : undefined; // before the read (see io/file-stamp.ts)
  const loaded = trigger.kind === 'deploy' ? loadDeployedChain(trigger.files, settings, pins, opts.read) : undefined;
  if (loaded) warnings.push(...loaded.warnings);
  // The next advance's renewal check then needs a stat, not a parse (when the config names these files).
  const seen = loaded ? (stamp === undefined ? undefined : { stamp, leafId: loaded.ref.id }) : trigger.kind === 'advance' ? trigger.certSeen : undefined;
  if (seen) file.certSeen = seen;
  const next = loadNextKey(stateDir, file, settings, trigger, opts.dryRun);
  const options = decideOptions(settings, pins, opts.force);
  const decideTrigger: DecideTrigger = loaded ? { kind: 'deploy', chain: loaded.ref, nextKey: next?.ref } : { kind: trigger.kind === 'pre-renew' ? 'pre-renew' : 'advance', nextKey: next?.ref };

  // Names that left the config still hold records of ours: observe them too, to withdraw them.
  const names = [...new Set([...settings.tlsaNames, ...file.rollover.owned.map((o) => o.name)])];
  const ctx = await dnsContext(settings, opts.emit, names, shared);
  // Unverifiable emit is said when something is emitted, not on every quiet timer run.
  warnings.push(...standingWarnings(ctx));
  const { presence, observations } = await observe(ctx, names, file.rollover.owned);
  warnings.push(...observationErrors(observations));
  const now = clock();
  const d = decide(file.rollover, decideTrigger, { presence, negativeTtl: ctx.negativeTtl }, now, options);
  if (settings.activateDir && trigger.kind === 'advance' && d.plan.some((st) => st.kind === 'promote')) checkActivateDir(settings.activateDir);
  await confirmZones(ctx, d.plan.flatMap((st) => (st.kind === 'publish' ? [st.name] : [])), settings.dns.zone !== undefined, observations);
  warnings.push(...d.warnings, ...rrsetSizeWarnings(presence, d.plan));
  if (!ctx.verified && d.plan.some((st) => st.kind === 'publish' || st.kind === 'withdraw')) warnings.push(...ctx.warnings.filter((w) => w.startsWith(UNVERIFIED)));
  const nextOf = (r: ChainReadiness[]) => (trigger.kind === 'pre-renew' ? r.find((x) => x.role === 'next key')?.ready : undefined);
  const report: RunReport = {
    service: settings.id,
    trigger: trigger.kind,
    steps: d.plan,
    applied: !opts.dryRun,
    warnings,
    unsafe: d.unsafe,
    nextReady: nextOf(d.readiness),
    nextAt: d.nextAt,
    readiness: roleReadiness(d.readiness),
    combos: d.readiness,
    held: d.held,
    exitCode: d.outcome,
  };
  const deployed =
    loaded && !d.known
      ? { ref: loaded.ref, store: (write?: FilesWriter) => storeChain(stateDir, settings.id, loaded, now, write), what: `deployed ${loaded.info.subject} (${loaded.ref.id.slice(0, 12)}) from ${trigger.kind === 'deploy' ? trigger.files.client : ''}` }
      : undefined;
  const nextKey = next ? { path: next.path, used: d.nextKeyUsed, has: next.ref !== undefined } : undefined;
  return { stateDir, settings, trigger, file, loadedText, loadedAt, loadedStat, ctx, names, presence, options, d, report, now, nextOf, deployed, nextKey };
}

/**
 * prepareRun for a run over many services. An advance that finds nothing to do (no step, nothing
 * to write) only reads: it is decided without the service's lock, as status is; creating and
 * removing a thousand lock files is the largest cost of an idle timer run. Otherwise the lock is
 * taken and, when the state file changed meanwhile (another run wrote it), the service is
 * prepared again under it; when it did not, the decision stands: it was made on the same state.
 * "Did not change" is told by stat when the first read's was settled (one stat, no read), else by
 * reading the text again.
 */
export async function prepareIdleOrLocked(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions, clock: () => number, shared: RunDns, lock: () => Promise<Lock>): Promise<{ p: Prepared; lock?: Lock }> {
  if (opts.dryRun || trigger.kind !== 'advance') {
    const held = opts.dryRun ? undefined : await lock();
    try {
      return { p: await prepareRun(stateDir, settings, trigger, opts, clock, shared), lock: held };
    } catch (err) {
      held?.release();
      throw err;
    }
  }
  const p = await prepareRun(stateDir, settings, trigger, opts, clock, shared);
  if (idle(p)) return { p: { ...p, unlocked: true } };
  const held = await lock();
  try {
    if ((p.loadedStat && sameStats(p.loadedStat, stateFileStat(stateDir, settings.id))) || stateFileText(stateDir, settings.id) === p.loadedText) return { p, lock: held };
    return { p: await prepareRun(stateDir, settings, trigger, opts, clock, shared), lock: held };
  } catch (err) {
    held.release();
    throw err;
  }
}

/** Nothing to carry out and nothing to write: the state after the decision is the text read. */
function idle(p: Prepared): boolean {
  if (p.d.plan.length > 0 || p.deployed || p.nextKey || p.trigger.kind !== 'advance') return false;
  return !stateChanged({ file: { ...p.file, rollover: p.d.state }, loadedText: p.loadedText, loadedAt: p.loadedAt });
}

/** The decision becomes the state: the new chain's files stored (by `write`), the next key noted. */
export async function commitDecision(p: Prepared, write?: FilesWriter): Promise<void> {
  const { file, d, deployed, nextKey } = p;
  file.rollover = d.state;
  if (deployed) {
    file.chains[deployed.ref.id] = await deployed.store(write);
    file.history.push({ at: p.now, what: deployed.what });
  }
  if (nextKey?.has && !nextKey.used) file.nextKeyFile = nextKey.path;
  else if (nextKey?.has) file.nextKeyFile = undefined;
}

/** After the plan ran: the report says what was done; after publishes, look again at once. */
export async function finishRun(p: Prepared, done: Step[], held: string | undefined, clock: () => number): Promise<void> {
  const { file, report, d, ctx, names, options, trigger } = p;
  report.steps = done;
  if (held) {
    // The withdrawals did not happen: the report must not list them as done.
    report.held.push(held);
    report.warnings.push(held);
    report.exitCode = worst([report.exitCode, Exit.NOT_VERIFIED]);
  }
  if (done.some((s) => s.kind === 'publish')) {
    // Look again at once: the wait for readiness starts when every server serves the new
    // records, and on a single primary that is now, not at the next run.
    const again = await observe(ctx, names, file.rollover.owned);
    // pre-renew decides again as pre-renew: the gate (held, or let through near expiry) as it stands now.
    const laterTrigger: DecideTrigger = { kind: trigger.kind === 'pre-renew' ? 'pre-renew' : 'advance' };
    const later = decide(file.rollover, laterTrigger, { presence: again.presence, negativeTtl: ctx.negativeTtl }, clock(), options);
    file.rollover = later.state;
    report.nextAt = later.nextAt;
    report.readiness = roleReadiness(later.readiness);
    report.combos = later.readiness;
    if (trigger.kind === 'pre-renew') {
      report.nextReady = p.nextOf(later.readiness);
      const gate = later.outcome === Exit.NOT_READY ? Exit.NOT_READY : Exit.OK;
      report.exitCode = worst([d.outcome === Exit.NOT_READY ? Exit.OK : d.outcome, gate, held ? Exit.NOT_VERIFIED : Exit.OK]);
    }
  }
  file.updatedAt = clock();
}

