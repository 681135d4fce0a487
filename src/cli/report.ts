// Prints what a run did: one line per change for people, versioned JSON for machines, nothing
// at all in hooks (--quiet) unless something needs a person's attention.
import type { RunReport } from '../engine/types.js';
import { stepText } from '../rollover/describe.js';
import { comboText } from '../rollover/readiness.js';
import { Exit } from '../errors.js';

export { stepText };

export const REPORT_VERSION = 1;

/** A service whose run failed while others ran (deploy/pre-renew/advance over several services). */
export interface RunFailure {
  service: string;
  error: string;
  exitCode: number;
}

const when = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** `failures` appear as a `failed` list only when a service failed (the version-1 shape otherwise). */
export function reportJson(reports: RunReport[], failures: RunFailure[] = []): unknown {
  return {
    version: REPORT_VERSION,
    services: reports.map((r) => ({
      service: r.service,
      trigger: r.trigger,
      applied: r.applied,
      steps: r.steps.map((s) => (s.kind === 'publish' || s.kind === 'withdraw' ? { kind: s.kind, name: s.name, ...s.record, ...(s.kind === 'publish' ? { ttl: s.ttl } : {}), reason: s.reason } : s)),
      readiness: r.readiness,
      ...(r.combos ? { combos: r.combos } : {}),
      nextReady: r.nextReady,
      nextAt: when(r.nextAt),
      held: r.held,
      warnings: r.warnings,
      unsafe: r.unsafe,
      exitCode: r.exitCode,
      ...(r.emitted ? { emitted: r.emitted } : {}),
    })),
    ...(failures.length > 0 ? { failed: failures } : {}),
  };
}

export function reportText(r: RunReport, opts: { quiet?: boolean; now: number }): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err = r.warnings.map((w) => `dane-hook: warning: ${r.service}: ${w}`);
  // --quiet silences success only: a hook's log (acme.sh says just "Error occurred when running
  // pre hook") must show why the run did not exit 0, so the full account goes to stderr then.
  if (opts.quiet && r.exitCode === Exit.OK) return { out, err };
  const verb = r.applied ? '' : '(dry run) would ';
  if (r.steps.length === 0) out.push(`${r.service}: ${r.exitCode === Exit.UNSAFE_PLAN ? "nothing done: withdrawals held (they need --force)" : r.held.length > 0 ? "nothing done: withdrawals held" : "nothing to do"}`);
  for (const s of r.steps) out.push(`${r.service}: ${verb}${stepText(s)}`);
  for (const h of r.held) out.push(`${r.service}: held: ${h}`);
  // A chain promoted in this run no longer waits, whatever the plan saw before the promotion.
  const pending = r.combos?.find((c) => c.role === 'pending');
  if (r.readiness.pending === false && !r.steps.some((s) => s.kind === 'promote')) {
    out.push(`${r.service}: renewed chain waits for its records to be ready${pending ? ` (${comboText(pending.combos.filter((c) => c.matchable), [...new Set(pending.combos.map((c) => c.name))])})` : ''}`);
  }
  if (r.nextReady === false) out.push(`${r.service}: next key's record not ready yet`);
  if (r.nextAt !== undefined) {
    const secs = Math.max(0, Math.ceil((r.nextAt - opts.now) / 1000));
    out.push(`${r.service}: next step due at ${when(r.nextAt)} (in ${secs} s): run 'dane-hook advance' then`);
  }
  return { out, err };
}
