// How a check reads to a monitoring system: one summary line first ("DANE OK - ..."), with
// performance data after '|', then one line per finding; or the same as versioned JSON.
import { EXIT_OF, worstOf, type ServiceVerdict, type Severity, type Thresholds } from './evaluate.js';
import { thresholdsFor } from './expiry.js';

export interface CheckReport {
  version: 1;
  state: Severity;
  exitCode: number;
  summary: string;
  services: ServiceVerdict[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function serviceSummary(v: ServiceVerdict): string {
  if (v.severity === 'OK') {
    const params = [...new Set(v.endpoints.flatMap((e) => e.matchedBy.map((r) => r.split(' ').slice(0, 3).join(' '))))];
    return `${v.service}: ${plural(v.endpoints.length, 'name')}, chain matched by ${params.join(', ') || 'nothing'}`;
  }
  const worst = [...v.findings, ...v.endpoints.flatMap((e) => e.findings)].filter((f) => f.severity === v.severity);
  const more = worst.length > 1 ? ` (+${worst.length - 1} more)` : '';
  return `${v.service}: ${worst[0]?.message ?? v.severity}${more}`;
}

export function buildReport(services: ServiceVerdict[], t: Thresholds): CheckReport {
  const state = worstOf(services.map((s) => s.severity));
  const body = services.length === 0 ? 'no services to check' : services.map(serviceSummary).join('; ');
  // Performance data for the leaf nearest expiry, with the thresholds that apply to it.
  const leaves = services.flatMap((s) => s.endpoints.flatMap((e) => (e.leaf ? [e.leaf] : [])));
  const nearest = leaves.reduce<(typeof leaves)[number] | undefined>((a, b) => (a === undefined || b.daysLeft < a.daysLeft ? b : a), undefined);
  const at = nearest && thresholdsFor(nearest, t);
  const num = (n: number) => String(Number(n.toFixed(2)));
  const perf = nearest && at ? ` | days_left=${nearest.daysLeft.toFixed(1)};${num(at.warnDays)};${num(at.critDays)}` : '';
  return { version: 1, state, exitCode: EXIT_OF[state], summary: `DANE ${state} - ${body}${perf}`, services };
}

/** The summary line, then per endpoint what it presents and what matched, then each finding. */
export function reportText(r: CheckReport): string[] {
  const lines = [r.summary];
  for (const s of r.services) {
    for (const f of s.findings) lines.push(`[${f.severity}] ${s.service}: ${f.message}`);
    for (const e of s.endpoints) {
      const leaf = e.leaf ? `presents ${e.leaf.subject} (expires ${e.leaf.notAfter})` : 'no chain';
      const matched = e.matchedBy.length > 0 ? `matched by ${e.matchedBy.map((m) => `${m.slice(0, 22)}…`).join(', ')}` : 'matched by no record';
      const via = e.via ? ` (via CNAME ${e.via.join(' -> ')})` : '';
      lines.push(`[${e.severity}] ${s.service} ${e.name}${via} at ${e.connect}: ${leaf}, ${matched}`);
      for (const a of e.announced) lines.push(`  announced for the ${a.role}: ${a.record.slice(0, 22)}…`);
      for (const f of e.findings) lines.push(`  [${f.severity}] ${f.message}`);
    }
    for (const c of s.readiness ?? []) lines.push(`  ${c.role} ${c.id.slice(0, 12)}: ${c.readiness}`);
  }
  return lines;
}
