// The RRset each name will hold once the plan ran (what is served, plus what is published, minus
// what is withdrawn), checked against the size some senders stop reading at (tlsa/rrset.ts).
import type { Presence, Step } from '../rollover/types.js';
import { recordKey } from '../tlsa/record.js';
import { largeRrsetWarning } from '../tlsa/rrset.js';

export function rrsetSizeWarnings(presence: Record<string, Presence>, plan: Step[]): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(presence), ...plan.flatMap((s) => (s.kind === 'publish' || s.kind === 'withdraw' ? [s.name] : []))]);
  for (const name of names) {
    const keys = new Set(presence[name]?.anywhere ?? []);
    for (const s of plan) {
      if (s.kind === 'publish' && s.name === name) keys.add(recordKey(s.record));
      if (s.kind === 'withdraw' && s.name === name) keys.delete(recordKey(s.record));
    }
    const w = largeRrsetWarning(name, keys.size);
    if (w) out.push(w);
  }
  return out;
}
