// Folds an observation into what the state remembers: when each record was first served by every
// authoritative server, and from when it counts as ready (DESIGN.md §2, RFC 7671 8.1).
import type { NameMemory, Presence, RolloverState, SeenEntry } from './types.js';

export interface SeenInput {
  now: number;
  /** The TTL dane-hook publishes with. */
  ttl: number;
  /** The zone's negative-caching TTL: a resolver may hold "no TLSA here" this long. */
  negativeTtl: number;
  presence: Record<string, Presence>;
}

/**
 * A record is ready 2 x max(TTL) after every server first served it, where TTL covers the TTL we
 * publish with, the TTL the RRset is served with now and any larger TTL it had before (caches keep
 * the old one); when the RRset was empty before, the negative TTL counts too.
 * A record that some server stopped serving starts over.
 */
export function updateSeen(state: RolloverState, input: SeenInput): RolloverState {
  const seen: RolloverState['seen'] = {};
  const names: Record<string, NameMemory> = { ...state.names };
  for (const [name, p] of Object.entries(input.presence)) {
    const before = state.names[name];
    const maxTtl = Math.max(input.ttl, p.ttl ?? 0, before?.maxTtl ?? 0);
    // Unknown history counts as "was empty": the longer wait is the safe guess.
    const wasEmpty = before === undefined || before.empty;
    const hold = 2 * 1000 * Math.max(maxTtl, wasEmpty ? input.negativeTtl : 0);
    const entries: Record<string, SeenEntry> = {};
    // In sorted order, not the order the servers answered in: an unchanged state is the same text (nothing to write).
    for (const key of [...p.everywhere].sort()) {
      const old = state.seen[name]?.[key];
      if (old) entries[key] = { since: old.since, readyAt: Math.max(old.readyAt, old.since + 2 * 1000 * maxTtl) };
      else entries[key] = { since: input.now, readyAt: input.now + hold };
    }
    seen[name] = entries;
    names[name] = { maxTtl, empty: p.anywhere.size === 0 };
  }
  // Names not observed this time keep what they had.
  for (const [name, entries] of Object.entries(state.seen)) if (!(name in seen)) seen[name] = entries;
  return { ...state, seen, names };
}
