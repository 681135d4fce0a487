// One run of dane-hook for one service, I/O only: lock, load (each input once), observe DNS,
// let the rollover core decide, then carry out its plan step by step (execute.ts), saving the
// state applyStep returns, so a crash at any point is followed by a rerun that converges.
import { Exit, worst } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import { decide } from '../rollover/decide.js';
import type { ChainReadiness, DecideTrigger } from '../rollover/types.js';
import { acquireLock } from '../state/lock.js';
import { loadService, lockPath, saveService } from '../state/store.js';
import { loadDeployedChain, storeChain } from './chain.js';
import { pinRecords } from '../tlsa/pins.js';
import { UNVERIFIED, dnsContext, observe } from './dns-context.js';
import { checkActivateDir } from './activate.js';
import { execute } from './execute.js';
import { loadNextKey } from './next-key.js';
import { decideOptions } from './options.js';
import type { RunOptions, RunReport, Trigger } from './types.js';
import { rrsetSizeWarnings } from './rrset-size.js';
import { decisionReport, newFile, observationErrors, reportHeld, roleReadiness, withValidity } from './run-parts.js';
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

async function runLocked(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions, clock: () => number): Promise<RunReport> {
  const file = loadService(stateDir, settings.id) ?? newFile(settings, clock());
  file.settings = settings;
  file.rollover = withValidity(file.rollover, file);
  const warnings: string[] = [];

  // Everything that can be bad input is read and checked before DNS is touched.
  if (settings.activateDir) checkActivateDir(settings.activateDir);
  const pins = pinRecords(settings.extraCaFiles, settings.records);
  const loaded = trigger.kind === 'deploy' ? loadDeployedChain(trigger.files, settings, pins) : undefined;
  if (loaded) warnings.push(...loaded.warnings);
  const next = loadNextKey(stateDir, file, settings, trigger, opts.dryRun);
  const options = decideOptions(settings, pins, opts.force);
  const decideTrigger: DecideTrigger = loaded ? { kind: 'deploy', chain: loaded.ref, nextKey: next?.ref } : { kind: trigger.kind === 'pre-renew' ? 'pre-renew' : 'advance', nextKey: next?.ref };

  // Names that left the config still hold records of ours: observe them too, to withdraw them.
  const names = [...new Set([...settings.tlsaNames, ...file.rollover.owned.map((o) => o.name)])];
  const ctx = await dnsContext(settings, opts.emit, names);
  // Unverifiable emit is said when something is emitted, not on every quiet timer run.
  warnings.push(...ctx.warnings.filter((w) => ctx.verified || !w.startsWith(UNVERIFIED)));
  const { presence, observations } = await observe(ctx, names, file.rollover.owned);
  warnings.push(...observationErrors(observations));
  const now = clock();
  const d = decide(file.rollover, decideTrigger, { presence, negativeTtl: ctx.negativeTtl }, now, options);
  warnings.push(...d.warnings, ...rrsetSizeWarnings(presence, d.plan));
  if (!ctx.verified && d.plan.some((st) => st.kind === 'publish' || st.kind === 'withdraw')) warnings.push(...ctx.warnings.filter((w) => w.startsWith(UNVERIFIED)));
  const nextOf = (r: ChainReadiness[]) => (trigger.kind === 'pre-renew' ? r.find((x) => x.role === 'next key')?.ready : undefined);
  const report: RunReport = { ...decisionReport(settings.id, trigger.kind, d, warnings, !opts.dryRun), nextReady: nextOf(d.readiness) };
  if (opts.dryRun) return report;

  file.rollover = d.state;
  if (loaded && !d.known) {
    file.chains[loaded.ref.id] = storeChain(stateDir, settings.id, loaded, now);
    file.history.push({ at: now, what: `deployed ${loaded.info.subject} (${loaded.ref.id.slice(0, 12)}) from ${trigger.kind === 'deploy' ? trigger.files.client : ''}` });
  }
  if (next?.ref && !d.nextKeyUsed) file.nextKeyFile = next.path;
  else if (next?.ref) file.nextKeyFile = undefined;
  saveService(stateDir, file);

  const { done, held } = await execute({ stateDir, file, settings, dns: ctx, now }, d.plan);
  report.steps = done;
  reportHeld(report, held);
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
      report.nextReady = nextOf(later.readiness);
      const gate = later.outcome === Exit.NOT_READY ? Exit.NOT_READY : Exit.OK;
      report.exitCode = worst([d.outcome === Exit.NOT_READY ? Exit.OK : d.outcome, gate, held ? Exit.NOT_VERIFIED : Exit.OK]);
    }
  }
  file.updatedAt = clock();
  saveService(stateDir, file);
  return report;
}
