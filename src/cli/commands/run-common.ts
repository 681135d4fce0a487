// What deploy, pre-renew and advance share: settings from flags/config, running each service,
// printing the reports and choosing the exit code.
import { Exit, UserError, worst } from '../../errors.js';
import { runService } from '../../engine/run.js';
import { runServices } from '../../engine/many.js';
import type { RunOptions, RunReport, Trigger } from '../../engine/types.js';
import type { CertFiles } from '../../acme/types.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import { parseOwner } from '../../tlsa/name.js';
import { reportJson, reportText, type RunFailure } from '../report.js';

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
    return await runService(stateDir, s, trigger, opts);
  } catch (err) {
    if (alone) throw err;
    return failure(s.id, err, verbose);
  }
}

/** Prints a service's failure as one line on stderr (the stack with --verbose) and records it. */
export function failure(service: string, err: unknown, verbose?: boolean): RunFailure {
  if (err instanceof UserError) {
    process.stderr.write(`dane-hook: ${service}: ${err.message}\n`);
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
export async function runBatch(stateDir: string, items: { settings: ServiceSettings; trigger: Trigger }[], args: CommonArgs, alone: boolean): Promise<(RunReport | RunFailure)[]> {
  const sinks = items.map(() => jsonSink(args));
  const withEmitted = (r: RunReport, i: number): RunReport => (args.json ? { ...r, emitted: sinks[i]!.text() } : r);
  const opts = { dryRun: args.dryRun, force: args.force };
  if (items.length === 1) {
    const r = await runOne(stateDir, items[0]!.settings, items[0]!.trigger, { ...opts, out: sinks[0]!.out }, alone, args.verbose);
    return [isFailure(r) ? r : withEmitted(r, 0)];
  }
  const results = await runServices(stateDir, items.map((it, i) => ({ ...it, out: sinks[i]!.out })), opts);
  return results.map((r, i) => (r.report ? withEmitted(r.report, i) : failure(items[i]!.settings.id, r.error, args.verbose)));
}

export const isFailure = (r: RunReport | RunFailure): r is RunFailure => 'error' in r;

/** Where the emit backend's changes are printed: stdout, or with --json inside the JSON document. */
export function jsonSink(args: CommonArgs): { out: { write(t: string): unknown }; text: () => string } {
  let emitted = '';
  return { out: args.json ? { write: (t: string) => (emitted += t) } : process.stdout, text: () => emitted };
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
