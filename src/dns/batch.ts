// Changes of many services to one zone, sent in as few update messages as the size allows. A
// group (one service's changes in one phase) is never split: it rides in one message, so its order
// is kept and it succeeds or fails as a whole, and a failed message fails only the groups it
// carried. Backends that cannot batch (exec, powerdns, emit) get their groups one by one.
import { DnsError, UserError } from '../errors.js';
import { checkChanges } from './changes.js';
import type { Backend, ChangeGroup, GroupResult, RecordChange } from './types.js';

export type { ChangeGroup, GroupResult };

/** Stays under the 65,535-byte TCP message limit with room for the header, zone and TSIG. */
export const MAX_MESSAGE_BYTES = 60_000;

const wireName = (name: string): number => name.replace(/\.$/, '').split('.').reduce((n, l) => n + l.length + 1, 1);

/** Upper bound of one change's bytes in an UPDATE message (its name uncompressed). */
export function changeBytes(c: RecordChange): number {
  return wireName(c.name) + 10 + 3 + c.record.data.length / 2;
}

/** Groups packed in order into messages of at most `maxBytes`; a group bigger than that goes alone. */
export function packGroups(groups: ChangeGroup[], maxBytes = MAX_MESSAGE_BYTES): ChangeGroup[][] {
  const messages: ChangeGroup[][] = [];
  let current: ChangeGroup[] = [];
  let size = 0;
  for (const g of groups) {
    if (g.changes.length === 0) continue;
    const bytes = g.changes.reduce((n, c) => n + changeBytes(c), 0);
    if (current.length > 0 && size + bytes > maxBytes) {
      messages.push(current);
      current = [];
      size = 0;
    }
    current.push(g);
    size += bytes;
  }
  if (current.length > 0) messages.push(current);
  return messages;
}

/**
 * Checks each group on its own (a bad one fails alone, before anything is sent), then applies
 * the rest: batched when the backend can, else group by group. Results in the groups' order.
 */
export async function applyGroups(backend: Backend, zone: string, groups: ChangeGroup[]): Promise<GroupResult[]> {
  const results: GroupResult[] = groups.map((g) => ({ id: g.id }));
  const good: ChangeGroup[] = [];
  const at: number[] = [];
  groups.forEach((g, i) => {
    try {
      good.push({ id: g.id, changes: checkChanges(g.changes, zone === '' ? undefined : zone) });
      at.push(i);
    } catch (e) {
      results[i] = { id: g.id, error: asUserError(e) };
    }
  });
  if (good.length === 0) return results;
  const applied = backend.applyGroups ? await backend.applyGroups(good, { zone }) : await oneByOne(backend, zone, good);
  applied.forEach((r, k) => (results[at[k]!] = r));
  return results;
}

async function oneByOne(backend: Backend, zone: string, groups: ChangeGroup[]): Promise<GroupResult[]> {
  const out: GroupResult[] = [];
  for (const g of groups) {
    try {
      await backend.apply(g.changes, { zone });
      out.push({ id: g.id });
    } catch (e) {
      out.push({ id: g.id, error: asUserError(e) });
    }
  }
  return out;
}

function asUserError(e: unknown): UserError {
  if (e instanceof UserError) return e;
  return new DnsError(e instanceof Error ? e.message : String(e), { cause: e });
}
