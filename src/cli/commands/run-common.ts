// What deploy, pre-renew and advance share: settings from flags/config, running each service,
// printing the reports and choosing the exit code.
import { Exit, UserError, worst } from '../../errors.js';
import { runService } from '../../engine/run.js';
import { runServices } from '../../engine/many.js';
import { memoPath } from '../../engine/idle-memo.js';
import type { EmitSink, RunOptions, RunReport, Trigger } from '../../engine/types.js';
import { renderChanges } from '../../dns/render.js';
import { fsUserError } from '../../io/fs-errors.js';
import { oneLine, shownValue } from '../../io/shown.js';
import { activateDirWarning } from '../../state/activate-form.js';
import type { CertFiles } from '../../acme/types.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import { parseOwner } from '../../tlsa/name.js';
import { reportJson, reportText, type RunFailure } from '../report.js';
import { boundHeapGrowth } from '../heap.js';

export interface CommonArgs {
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
  verbose?: boolean;
}

/** The exit code of several services: the first by errors.ts OUTCOME_ORDER (failures, hazards, waits). */
export { worst };

/**
 * Runs one service, catching its failure so the next service still runs. With several services a
 * failure is printed at once as `dane-hook: ID: message` and returned; with one (`alone`) it is
 * thrown as before, so a single-service hook keeps its one-line message and exit code.
 */
export async function runOne(
  stateDir: string,
  s: ServiceSettings,
  trigger: Trigger,
  opts: RunOptions,
  alone: boolean,
  verbose?: boolean,
): Promise<RunReport | RunFailure> {
  try {
    return withFormWarning(await runService(stateDir, s, trigger, opts), s);
  } catch (err) {
    if (alone) throw err;
    return failure(s.id, err, verbose);
  }
}

/** The activate dir's form warning: said at each deploy (not at every quiet timer run); status says it too. */
function withFormWarning(r: RunReport, s: ServiceSettings): RunReport {
  // A service with lineages: each lineage's own folder (the service's only holds them).
  const dirs = s.lineages ? s.lineages.map((l) => l.activateDir) : [s.activateDir];
  const forms = r.trigger === 'deploy' ? dirs.flatMap((d) => activateDirWarning(d) ?? []) : [];
  return forms.length > 0 ? { ...r, warnings: [...r.warnings, ...forms] } : r;
}

/** Prints a service's failure as one line on stderr (the stack with --verbose) and records it. */
export function failure(service: string, thrown: unknown, verbose?: boolean): RunFailure {
  const err = fsUserError(thrown) ?? thrown;
  if (err instanceof UserError) {
    process.stderr.write(`dane-hook: ${service}: ${oneLine(err.message)}\n`);
    if (verbose && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    return { service, error: err.message, exitCode: err.exitCode };
  }
  const e = err as Error;
  const message = `internal error: ${e?.message ?? String(err)}`;
  process.stderr.write(`dane-hook: ${service}: ${message}${verbose ? '' : ' (a bug: rerun with --verbose and report the output)'}\n`);
  if (verbose) process.stderr.write(`${e?.stack ?? ''}\n`);
  return { service, error: message, exitCode: Exit.INTERNAL };
}

/**
 * Runs services: one alone as before; several in one batched run (engine/many.ts: shared zone
 * facts and queries, DNS changes per zone for all of them). Results in the services' order; a
 * failure is printed at once (see failure()). With --json each report carries what it emitted.
 */
export async function runBatch(stateDir: string, items: { settings: ServiceSettings; trigger: Trigger }[], args: CommonArgs, alone: boolean, shared: Pick<RunOptions, 'read' | 'renewalCheck'> = {}): Promise<(RunReport | RunFailure)[]> {
  const chunk = chunkSize(process.env); // checked before anything runs, even for one service
  const sinks = items.map(() => jsonSink(args));
  const withEmitted = (r: RunReport, i: number): RunReport => (args.json ? { ...r, emitted: sinks[i]!.text() } : r);
  const opts = { dryRun: args.dryRun, force: args.force, ...shared };
  if (items.length === 1) {
    const r = await runOne(stateDir, items[0]!.settings, items[0]!.trigger, { ...opts, emit: sinks[0]!.emit }, alone, args.verbose);
    return [isFailure(r) ? r : withEmitted(r, 0)];
  }
  boundHeapGrowth();
  // A service with lineages runs on its own (engine/run-lineages.ts); the others in one batch.
  const batched = items.map((it, i) => ({ ...it, i })).filter((it) => !it.settings.lineages);
  const out: (RunReport | RunFailure)[] = new Array(items.length);
  const keep = args.json ? undefined : forText;
  const onMemo = args.verbose ? (ids: string[]) => process.stderr.write(`dane-hook: ${ids.length} of ${batched.length} services were as the last run left them: their decision was taken again from the memo (${memoPath(stateDir)})\n`) : undefined;
  const results = batched.length > 0 ? await runServices(stateDir, batched.map((it) => ({ settings: it.settings, trigger: it.trigger, emit: sinks[it.i]!.emit })), { ...opts, onMemo }, chunk, keep) : [];
  results.forEach((r, k) => {
    const i = batched[k]!.i;
    out[i] = r.report ? withEmitted(withFormWarning(r.report, items[i]!.settings), i) : failure(items[i]!.settings.id, r.error, args.verbose);
  });
  for (const [i, it] of items.entries()) {
    if (!it.settings.lineages) continue;
    const r = await runOne(stateDir, it.settings, it.trigger, { ...opts, emit: sinks[i]!.emit }, false, args.verbose);
    out[i] = isFailure(r) ? r : withEmitted(r, i);
  }
  return out;
}

/**
 * What the text output (report.ts reportText) reads of a report: of the readiness per chain and
 * combination only the pending chain's. A run over 10,000 services keeps every report until it
 * prints them; without --json the rest is dropped as each chunk ends.
 */
export function forText(r: RunReport): RunReport {
  return r.combos ? { ...r, combos: r.combos.filter((c) => c.role === 'pending') } : r;
}

/** DANE_HOOK_CHUNK: services carried through at a time (memory against UPDATE messages per zone). */
export function chunkSize(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.DANE_HOOK_CHUNK;
  if (v === undefined || v === '') return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UserError(`DANE_HOOK_CHUNK=${shownValue(v)} is not a whole number of services from 1 to 999999`);
  return Number(v);
}

export const isFailure = (r: RunReport | RunFailure): r is RunFailure => 'error' in r;

/**
 * Where the emit backend's changes are rendered (nsupdate script, zone lines or JSON) and printed:
 * stdout, or with --json inside the JSON document. Rendering is the CLI's job, not the backend's.
 */
export function jsonSink(args: CommonArgs): { emit: EmitSink; text: () => string } {
  let emitted = '';
  const emit: EmitSink = (changes, where) => {
    const text = renderChanges(changes, where.format, { zone: where.zone, server: where.server });
    if (text === '') return;
    if (args.json) emitted += text;
    else process.stdout.write(text);
  };
  return { emit, text: () => emitted };
}

export async function runAll(
  global: GlobalSettings,
  services: ServiceSettings[],
  trigger: (s: ServiceSettings) => Trigger,
  args: CommonArgs,
): Promise<{ reports: RunReport[]; failures: RunFailure[]; code: number }> {
  const reports: RunReport[] = [];
  const failures: RunFailure[] = [];
  for (const r of await runBatch(global.stateDir, services.map((s) => ({ settings: s, trigger: trigger(s) })), args, services.length === 1)) {
    if (isFailure(r)) failures.push(r);
    else reports.push(r);
  }
  print(reports, args, global.warnings, failures);
  return { reports, failures, code: worst([...reports, ...failures].map((r) => r.exitCode)) };
}

export function print(reports: RunReport[], args: CommonArgs, warnings: string[] = [], failures: RunFailure[] = []): void {
  for (const w of warnings) process.stderr.write(`dane-hook: warning: ${w}\n`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(reportJson(reports, failures), null, 2)}\n`);
    // Warnings still go to stderr so a hook's log shows them.
    for (const r of reports) for (const w of r.warnings) process.stderr.write(`dane-hook: warning: ${r.service}: ${w}\n`);
    return;
  }
  const now = Date.now();
  for (const r of reports) {
    const { out, err } = reportText(r, { quiet: args.quiet, now });
    for (const l of err) process.stderr.write(`${l}\n`);
    // stdout carries only what is meant for a pipe (the emit backend's script, --json).
    for (const l of out) process.stderr.write(`${l}\n`);
  }
}

/**
 * ACME clients run their hooks for every certificate, also those no service uses: say so in one
 * line (even with --quiet, it may be a config mistake) and do nothing. The caller exits 0.
 */
export function warnNoService(global: GlobalSettings, files: CertFiles): void {
  const hosts = [...new Set(global.services.flatMap((s) => s.tlsaNames.map((n) => parseOwner(n)?.host ?? n)))];
  process.stderr.write(
    `dane-hook: warning: the certificate for ${files.domains.join(', ') || files.cert} (${files.client}) is for no configured service (TLSA hosts: ${hosts.join(', ') || 'none'}); nothing done. If it is meant for one, name its files (--lineage DIR or --cert/--key) or its lineage in the config\n`,
  );
}
