// Checks a plan before it runs, as octoDNS does before apply: withdrawals that would empty a
// name, or take away most of what it serves, need --force.
import { recordKey } from '../tlsa/record.js';
import type { Plan, Presence } from './types.js';

/** Largest share of the records at one name a plan may withdraw without --force. */
export const MAX_WITHDRAW_SHARE = 0.5;

export function unsafeReasons(plan: Plan, presence: Record<string, Presence>): string[] {
  const reasons: string[] = [];
  const byName = new Map<string, { adds: Set<string>; dels: Set<string> }>();
  for (const s of plan.steps) {
    if (s.kind === 'promote') continue;
    const e = byName.get(s.name) ?? { adds: new Set<string>(), dels: new Set<string>() };
    (s.kind === 'publish' ? e.adds : e.dels).add(recordKey(s.record));
    byName.set(s.name, e);
  }
  for (const [name, { adds, dels }] of byName) {
    if (dels.size === 0) continue;
    const now = new Set([...(presence[name]?.anywhere ?? []), ...adds]);
    const after = [...now].filter((k) => !dels.has(k));
    if (after.length === 0) reasons.push(`withdrawing ${dels.size} record(s) would leave ${name} with no TLSA record`);
    else if (now.size > 0 && dels.size / now.size > MAX_WITHDRAW_SHARE) {
      reasons.push(`withdrawing ${dels.size} of ${now.size} records at ${name} is more than ${MAX_WITHDRAW_SHARE * 100}%`);
    }
  }
  return reasons;
}
