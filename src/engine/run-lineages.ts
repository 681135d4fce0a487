// One run of a service with several lineages (an RSA and an ECDSA certificate on the same names),
// under the service's one lock and in its one state file: each lineage has its rollover slot
// (file.lineages[keyType]) and its activate dir; DNS is observed once, the core decides all
// lineages together (rollover/lineages.ts), and the merged plan runs as one (execute.ts), so two
// lineages promoted in one run reload the service once. Every step saves the state, as for one
// source: a crash is followed by a rerun that converges.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { lineageViews, matchesKeyType, shownId } from '../config/lineages.js';
import { viewOf } from '../config/match.js';
import type { ServiceSettings } from '../config/types.js';
import { emptyState } from '../rollover/decide.js';
import { decideLineages, type LineageSlot, type LineagesDecision } from '../rollover/lineages.js';
import type { Observation, RolloverState } from '../rollover/types.js';
import { loadService, saveService, type ServiceFile } from '../state/store.js';
import { checkActivateDir } from './activate.js';
import { loadDeployedChain, storeChain, type LoadedChain } from './chain.js';
import { pinRecords } from '../tlsa/pins.js';
import { UNVERIFIED, confirmZones, dnsContext, observe } from './dns-context.js';
import { execute } from './execute.js';
import { decideOptions } from './options.js';
import { rrsetSizeWarnings } from './rrset-size.js';
import { decisionReport, newFile, observationErrors, reportHeld, roleReadiness, withValidity } from './run-parts.js';
import type { RunOptions, RunReport, Trigger } from './types.js';

/**
 * A service that had one source and now has lineages: its rollover moves to the lineage of the
 * key type in service (else the first), so its records are kept and later withdrawn as usual.
 * Staged, the chain in service is written into the lineage's own activate dir by the next run (a
 * promotion retried) and the service reloaded.
 */
function adoptSingle(file: ServiceFile, views: ServiceSettings[]): void {
  if (file.lineages !== undefined || (file.rollover.inService === undefined && file.rollover.owned.length === 0)) return;
  const keyType = file.rollover.inService ? file.chains[file.rollover.inService.id]?.keyType : undefined;
  const to = views.find((v) => keyType !== undefined && matchesKeyType(v.lineage!, keyType)) ?? views[0]!;
  file.lineages = { [to.lineage!]: to.activateDir && file.rollover.inService ? { ...file.rollover, reloadDue: true } : file.rollover };
  file.rollover = emptyState();
  file.history.push({ at: Date.now(), what: `the rollover of the single certificate became lineage ${to.lineage}` });
}

/** The lineage a deployed chain belongs to: by where its files are, else by its key type. */
function targetOf(views: ServiceSettings[], trigger: Extract<Trigger, { kind: 'deploy' }>, loaded: LoadedChain, id: string): ServiceSettings {
  const keyType = loaded.info.keyType;
  const byPlace = viewOf(views, trigger.files);
  const view = byPlace ?? views.find((v) => matchesKeyType(v.lineage!, keyType));
  if (!view) {
    throw new UserError(`${trigger.files.cert} holds a ${keyType} certificate, but service ${id} has lineages of ${views.map((v) => v.lineage).join(', ')} only: add a lineage for it or deploy it to another service`);
  }
  if (!matchesKeyType(view.lineage!, keyType)) {
    throw new UserError(`${trigger.files.cert} holds a ${keyType} certificate, but it is the lineage of key type ${view.lineage} of service ${id}: fix its "keyType" in the config`);
  }
  return view;
}

export async function runLineagesLocked(stateDir: string, settings: ServiceSettings, trigger: Trigger, opts: RunOptions, clock: () => number): Promise<RunReport> {
  const views = lineageViews(settings);
  const byLineage = Object.fromEntries(views.map((v) => [v.lineage!, v]));
  const file = loadService(stateDir, settings.id) ?? newFile(settings, clock());
  file.settings = settings;
  adoptSingle(file, views);
  const slotOf = (lineage: string): RolloverState => withValidity(file.lineages?.[lineage] ?? emptyState(), file);
  const warnings: string[] = [];
  const gone = Object.keys(file.lineages ?? {}).filter((l) => !(l in byLineage) && (file.lineages![l]!.owned.length > 0));
  if (gone.length > 0) warnings.push(`lineage ${gone.join(', ')} is no longer configured; its records stay until removed by hand or the lineage is configured again`);

  // Everything that can be bad input is read and checked before DNS is touched.
  for (const v of views) {
    if (!v.activateDir) continue;
    // activateDir/<keyType>: the folder holding the lineages' links is made on first use.
    if (!opts.dryRun) mkdirSync(dirname(v.activateDir), { recursive: true, mode: 0o755 });
    checkActivateDir(v.activateDir);
  }
  const pins = pinRecords(settings.extraCaFiles, settings.records);
  const loaded = trigger.kind === 'deploy' ? loadDeployedChain(trigger.files, views[0]!, pins) : undefined;
  const target = loaded && trigger.kind === 'deploy' ? targetOf(views, trigger, loaded, settings.id) : undefined;
  if (loaded) warnings.push(...loaded.warnings.map((w) => `${target!.lineage}: ${w}`));
  if (trigger.kind === 'pre-renew' && (trigger.nextKeyFile !== undefined || trigger.generate)) {
    throw new UserError(`service ${settings.id} has lineages: a next key is not supported there (each lineage is staged in its activate dir instead)`);
  }
  const slotsFor = (withTrigger: boolean): LineageSlot[] =>
    views.map((v) => ({
      lineage: v.lineage!,
      state: slotOf(v.lineage!),
      trigger: withTrigger && loaded && v === target ? { kind: 'deploy', chain: loaded.ref } : { kind: 'advance' },
      options: decideOptions(v, pins, opts.force),
    }));

  const owned = Object.values(file.lineages ?? {}).flatMap((r) => r.owned);
  const names = [...new Set([...settings.tlsaNames, ...owned.map((o) => o.name)])];
  const ctx = await dnsContext(settings, opts.emit, names);
  warnings.push(...ctx.warnings.filter((w) => ctx.verified || !w.startsWith(UNVERIFIED)));
  const { presence, observations } = await observe(ctx, names, owned);
  warnings.push(...observationErrors(observations));
  const now = clock();
  const d = decideLineages(slotsFor(true), { presence, negativeTtl: ctx.negativeTtl }, now);
  await confirmZones(ctx, d.plan.flatMap((st) => (st.kind === 'publish' ? [st.name] : [])), settings.dns.zone !== undefined);
  warnings.push(...d.warnings, ...rrsetSizeWarnings(presence, d.plan));
  if (!ctx.verified && d.plan.some((st) => st.kind === 'publish' || st.kind === 'withdraw')) warnings.push(...ctx.warnings.filter((w) => w.startsWith(UNVERIFIED)));
  const report = decisionReport(target ? shownId(target) : settings.id, trigger.kind, d, warnings, !opts.dryRun);
  if (opts.dryRun) return report;

  store(file, d);
  const known = d.decisions.find((x) => x.lineage === target?.lineage)?.decision.known;
  if (loaded && target && !known) {
    file.chains[loaded.ref.id] = await storeChain(stateDir, settings.id, loaded, now);
    file.history.push({ at: now, what: `deployed ${loaded.info.subject} (${loaded.ref.id.slice(0, 12)}, ${target.lineage}) from ${trigger.kind === 'deploy' ? trigger.files.client : ''}` });
  }
  saveService(stateDir, file);

  const { done, held } = await execute({ stateDir, file, settings, dns: ctx, now, views: byLineage }, d.plan);
  report.steps = done;
  reportHeld(report, held);
  if (done.some((s) => s.kind === 'publish')) {
    // As for one source: the wait starts when every server serves the new records, i.e. now.
    const again = await observe(ctx, names, Object.values(file.lineages ?? {}).flatMap((r) => r.owned));
    const observation: Observation = { presence: again.presence, negativeTtl: ctx.negativeTtl };
    const later = decideLineages(slotsFor(false), observation, clock());
    store(file, later);
    report.nextAt = later.nextAt;
    report.readiness = roleReadiness(later.readiness);
    report.combos = later.readiness;
  }
  file.updatedAt = clock();
  saveService(stateDir, file);
  return report;
}

/** Each lineage's state with the trigger and observation folded in (the plan then runs on it). */
function store(file: ServiceFile, d: LineagesDecision): void {
  file.lineages = { ...file.lineages, ...Object.fromEntries(d.decisions.map(({ lineage, decision }) => [lineage, decision.state])) };
}
