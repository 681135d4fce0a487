// Checks a plan before it runs, as octoDNS does before apply: withdrawals that would empty a
// name, or take away most of what it serves, need --force.
import { recordKey } from '../tlsa/record.js';
import type { Presence, Step } from './types.js';

/** Largest share of the records at one name a plan may withdraw without --force... */
export const MAX_WITHDRAW_SHARE = 0.5;
/** ...once the name holds this many (octoDNS's MIN_EXISTING_RECORDS): a rollover through three
 * generations of key and issuer withdraws 4 of 6, which is normal. */
export const MIN_RECORDS_FOR_SHARE = 10;

export interface Unsafe {
  reasons: string[];
  /** Names whose withdrawals need --force. */
  names: Set<string>;
}

/** Checks the publishes and withdrawals among `steps` (other steps change no record). */
export function unsafeWithdrawals(steps: Step[], presence: Record<string, Presence>): Unsafe {
  const reasons: string[] = [];
  const names = new Set<string>();
  const byName = new Map<string, { adds: Set<string>; dels: Set<string> }>();
  for (const s of steps) {
    if (s.kind !== 'publish' && s.kind !== 'withdraw') continue;
    const e = byName.get(s.name) ?? { adds: new Set<string>(), dels: new Set<string>() };
    (s.kind === 'publish' ? e.adds : e.dels).add(recordKey(s.record));
    byName.set(s.name, e);
  }
  for (const [name, { adds, dels }] of byName) {
    if (dels.size === 0) continue;
    const now = new Set([...(presence[name]?.anywhere ?? []), ...adds]);
    const after = [...now].filter((k) => !dels.has(k));
    if (after.length === 0) reasons.push(`withdrawing ${dels.size} record(s) would leave ${name} with no TLSA record`);
    else if (now.size >= MIN_RECORDS_FOR_SHARE && dels.size / now.size > MAX_WITHDRAW_SHARE) {
      reasons.push(`withdrawing ${dels.size} of ${now.size} records at ${name} is more than ${MAX_WITHDRAW_SHARE * 100}%`);
    } else continue;
    names.add(name);
  }
  return { reasons, names };
}
