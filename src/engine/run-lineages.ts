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
import type { LineageKeyType, ServiceSettings } from '../config/types.js';
import { emptyState } from '../rollover/decide.js';
import { decideLineages, type LineageSlot, type LineagesDecision, type RetiredSlot } from '../rollover/lineages.js';
import type { Observation, OwnedRecord, RolloverState } from '../rollover/types.js';
import { recordKey, recordText } from '../tlsa/record.js';
import { KEY_TYPES } from '../tls/probe.js';
import { leafProbe } from '../tls/presented-leaf.js';
import { loadServiceText, saveService, type ServiceFile } from '../state/store.js';
import { checkActivateDir } from './activate.js';
import { loadDeployedChain, storeChain, type LoadedChain } from './chain.js';
import { pinRecords } from '../tlsa/pins.js';
import { UNVERIFIED, confirmZones, dnsContext, observe, standingWarnings } from './dns-context.js';
import { execute } from './execute.js';
import { decideOptions } from './options.js';
import { rrsetSizeWarnings } from './rrset-size.js';
import { decisionReport, newFile, observationErrors, reportHeld, roleReadiness, stateChanged, withValidity } from './run-parts.js';
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

export async function runLineagesLocked(stateDir: string, settings: ServiceSettings, given: Trigger, opts: RunOptions, clock: () => number): Promise<RunReport> {
  const views = lineageViews(settings);
  const byLineage = Object.fromEntries(views.map((v) => [v.lineage!, v]));
  const loadedState = loadServiceText(stateDir, settings.id);
  const loadedFile = loadedState?.file;
  const file = loadedFile ?? newFile(settings, clock());
  const loadedAt = file.updatedAt;
  file.settings = settings;
  adoptSingle(file, views);
  const trigger = given.kind === 'advance' && opts.renewalCheck ? (unreportedLineageRenewal(views, loadedFile && file, opts.renewalCheck) ?? given) : given;
  const slotOf = (lineage: string): RolloverState => withValidity(file.lineages?.[lineage] ?? emptyState(), file);
  const warnings: string[] = [];
  // Lineages the config no longer names: their records go (those a configured lineage needs are handed over).
  const gone = Object.keys(file.lineages ?? {}).filter((l) => !(l in byLineage));

  // Everything that can be bad input is read and checked before DNS is touched.
  for (const v of views) {
    if (!v.activateDir) continue;
    // activateDir/<keyType>: the folder holding the lineages' links is made on first use.
    if (!opts.dryRun) mkdirSync(dirname(v.activateDir), { recursive: true, mode: 0o755 });
    checkActivateDir(v.activateDir);
  }
  const pins = pinRecords(settings.extraCaFiles, settings.records, opts.read);
  const loaded = trigger.kind === 'deploy' ? loadDeployedChain(trigger.files, views[0]!, pins, opts.read) : undefined;
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
  warnings.push(...standingWarnings(ctx));
  const { presence, observations } = await observe(ctx, names, owned);
  warnings.push(...observationErrors(observations));
  const retired = await Promise.all(gone.map(async (lineage): Promise<RetiredSlot> => ({ lineage, state: file.lineages![lineage]!, stillPresented: await presentedLineage(settings, lineage, file.lineages![lineage]!) })));
  const now = clock();
  const d = decideLineages(slotsFor(true), { presence, negativeTtl: ctx.negativeTtl }, now, retired);
  await confirmZones(ctx, d.plan.flatMap((st) => (st.kind === 'publish' ? [st.name] : [])), settings.dns.zone !== undefined, observations);
  warnings.push(...d.warnings, ...rrsetSizeWarnings(presence, d.plan));
  if (!ctx.verified && d.plan.some((st) => st.kind === 'publish' || st.kind === 'withdraw')) warnings.push(...ctx.warnings.filter((w) => w.startsWith(UNVERIFIED)));
  const report = decisionReport(target ? shownId(target) : settings.id, trigger.kind, d, warnings, !opts.dryRun);
  if (opts.dryRun) return report;

  store(file, d);
  handOver(file, d);
  const known = d.decisions.find((x) => x.lineage === target?.lineage)?.decision.known;
  if (loaded && target && !known) {
    file.chains[loaded.ref.id] = await storeChain(stateDir, settings.id, loaded, now);
    file.history.push({ at: now, what: `deployed ${loaded.info.subject} (${loaded.ref.id.slice(0, 12)}, ${target.lineage}) from ${trigger.kind === 'deploy' ? trigger.files.client : ''}` });
  }
  // An idle run (nothing to carry out) writes only what it changed, once, at the end.
  if (d.plan.length > 0) saveService(stateDir, file);

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
  for (const l of gone) if (file.lineages?.[l]?.owned.length === 0) delete file.lineages[l];
  if (d.plan.length === 0 && loadedState && !stateChanged({ file, loadedText: loadedState.text, loadedAt })) return report;
  file.updatedAt = clock();
  saveService(stateDir, file);
  return report;
}

/**
 * advance's safety net, per lineage: the first lineage whose configured files hold a certificate
 * the state does not know is deployed by this run (a second one by the next run). Each lineage is
 * judged against its own slot and chains; certSeen is one stamp per file, so lineages are read each time.
 */
function unreportedLineageRenewal(views: ServiceSettings[], known: ServiceFile | undefined, check: NonNullable<RunOptions['renewalCheck']>): Trigger | undefined {
  for (const v of views) {
    const t = check(v, known && lineageKnown(known, v.lineage!));
    if (t.kind === 'deploy') return t;
  }
  return undefined;
}

/** The state as one lineage sees it: its slot, and only its key type's chains (another key type's newer certificate would make a renewal look like a rollback). */
function lineageKnown(file: ServiceFile, lineage: LineageKeyType): ServiceFile {
  const { certSeen: _onePerFile, ...rest } = file;
  const chains = Object.fromEntries(Object.entries(file.chains).filter(([, c]) => matchesKeyType(lineage, c.keyType)));
  return { ...rest, chains, rollover: file.lineages?.[lineage] ?? emptyState() };
}

/** A retired lineage's records become the configured lineage's that needs them (once). */
function handOver(file: ServiceFile, d: LineagesDecision): void {
  const key = (o: OwnedRecord) => `${o.name} ${recordKey(o.record)}`;
  for (const { from, to, owned } of d.handOver) {
    const source = file.lineages![from]!;
    const target = file.lineages![to]!;
    file.lineages![from] = { ...source, owned: source.owned.filter((o) => key(o) !== key(owned)) };
    if (!target.owned.some((o) => key(o) === key(owned))) file.lineages![to] = { ...target, owned: [...target.owned, owned] };
    file.history.push({ at: Date.now(), what: `${owned.name} ${recordText(owned.record).slice(0, 22)} of the removed lineage ${from} is now lineage ${to}'s` });
  }
}

/**
 * With --connect: whether the live endpoint still presents a chain of a removed lineage (asked
 * for that lineage's key type), said as a reason to keep its records; undefined when it does not.
 */
async function presentedLineage(settings: ServiceSettings, lineage: string, state: RolloverState): Promise<string | undefined> {
  if (!settings.connect || state.owned.length === 0) return undefined;
  const ids = new Set([state.inService, state.retiring, state.pending, ...(state.waiting ?? [])].flatMap((c) => (c ? [c.id] : [])));
  const probe = leafProbe(settings.connect, settings.starttls);
  const keyType = KEY_TYPES.find((k) => matchesKeyType(lineage as LineageKeyType, k));
  try {
    const leaf = await probe({ keyType, refusedRetryMs: 0 });
    return ids.has(leaf) ? `${settings.connect} still presents its certificate ${leaf.slice(0, 12)}` : undefined;
  } catch {
    // No certificate of that key type: the handshake fails. Whether the endpoint answers at all:
    try {
      await probe({ refusedRetryMs: 0 });
      return undefined;
    } catch (err) {
      return `${settings.connect} could not be checked (${(err as Error).message})`;
    }
  }
}

/** Each lineage's state with the trigger and observation folded in (the plan then runs on it). */
function store(file: ServiceFile, d: LineagesDecision): void {
  file.lineages = { ...file.lineages, ...Object.fromEntries(d.decisions.map(({ lineage, decision }) => [lineage, decision.state])) };
}
