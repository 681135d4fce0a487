// What deploy, pre-renew and advance share: settings from flags/config, running each service,
// printing the reports and choosing the exit code.
import { Exit } from '../../errors.js';
import { runService, type RunReport, type Trigger } from '../../engine/run.js';
import type { GlobalSettings, ServiceSettings } from '../../config/types.js';
import { reportJson, reportText } from '../report.js';

export interface CommonArgs {
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
}

/** The highest exit code wins, except that OK codes never hide a failure. */
export function worst(codes: number[]): number {
  return codes.reduce((a, b) => Math.max(a, b), Exit.OK);
}

export async function runAll(
  global: GlobalSettings,
  services: ServiceSettings[],
  trigger: (s: ServiceSettings) => Trigger,
  args: CommonArgs,
): Promise<{ reports: RunReport[]; code: number }> {
  const reports: RunReport[] = [];
  for (const s of services) {
    // With --json the emitted changes go inside the JSON document, not beside it.
    let emitted = '';
    const out = args.json ? { write: (t: string) => (emitted += t) } : undefined;
    const r = await runService(global.stateDir, s, trigger(s), { dryRun: args.dryRun, force: args.force, out });
    reports.push(args.json ? { ...r, emitted } : r);
  }
  print(reports, args, global.warnings);
  return { reports, code: worst(reports.map((r) => r.exitCode)) };
}

export function print(reports: RunReport[], args: CommonArgs, warnings: string[] = []): void {
  for (const w of warnings) process.stderr.write(`dane-hook: warning: ${w}\n`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(reportJson(reports), null, 2)}\n`);
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
