// What deploy, pre-renew and advance share: settings from flags/config, running each service,
// printing the reports and choosing the exit code.
import { Exit, UserError, worst } from '../../errors.js';
import { runService } from '../../engine/run.js';
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

export const isFailure = (r: RunReport | RunFailure): r is RunFailure => 'error' in r;

/** With --json the emit backend's text goes inside the JSON document, not beside it. */
export function jsonSink(args: CommonArgs): { out?: { write(t: string): unknown }; text: () => string } {
  let emitted = '';
  return { out: args.json ? { write: (t: string) => (emitted += t) } : undefined, text: () => emitted };
}

export async function runAll(
  global: GlobalSettings,
  services: ServiceSettings[],
  trigger: (s: ServiceSettings) => Trigger,
  args: CommonArgs,
): Promise<{ reports: RunReport[]; failures: RunFailure[]; code: number }> {
  const reports: RunReport[] = [];
  const failures: RunFailure[] = [];
  for (const s of services) {
    const sink = jsonSink(args);
    const r = await runOne(global.stateDir, s, trigger(s), { dryRun: args.dryRun, force: args.force, out: sink.out }, services.length === 1, args.verbose);
    if (isFailure(r)) failures.push(r);
    else reports.push(args.json ? { ...r, emitted: sink.text() } : r);
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
