// What a hook call does to the rollover state, before planning: pure functions, shared by the
// engine and the planner's property test so both run the same rules.
import { recordKey } from '../tlsa/record.js';
import { chainReady } from './planner.js';
import type { ChainRef, RolloverState } from './types.js';

export interface DeployResult {
  state: RolloverState;
  /** The chain was already known (a rerun): nothing changed. */
  known: boolean;
  /** Direct mode put a chain in service that no ready record matched: the run was unsafe. */
  unsafe: boolean;
  first: boolean;
}

/** The renewed chain uses the next key when it carries every record the next key has. */
function usesNextKey(state: RolloverState, chain: ChainRef): boolean {
  if (!state.next) return false;
  const have = new Set(chain.records.map(recordKey));
  return state.next.records.every((r) => have.has(recordKey(r)));
}

/**
 * A renewed chain arrives. Staged mode: it waits as pending (a first deploy goes live at once:
 * no resolver can hold a TLSA RRset for this service yet). Direct mode: the client already put it
 * in service, so it is in service now, safe or not.
 */
export function deploy(
  state: RolloverState,
  chain: ChainRef,
  opts: { staged: boolean; names: string[]; now: number; /** no TLSA record at any name now */ nothingPublished?: boolean },
): DeployResult {
  const first = state.inService === undefined && state.pending === undefined;
  if (state.inService?.id === chain.id || state.pending?.id === chain.id) return { state, known: true, unsafe: false, first: false };
  const next = usesNextKey(state, chain) ? undefined : state.next;
  if (opts.staged) {
    return { state: { ...state, next, pending: { ...chain, ...(first ? { immediate: true } : {}) } }, known: false, unsafe: false, first };
  }
  // Live before a ready record matches it, unless no resolver can hold any TLSA RRset for the names.
  const unsafe = !(first && opts.nothingPublished !== false) && !chainReady(state, opts.names, chain, opts.now);
  return { state: { ...state, next, inService: chain, pending: undefined }, known: false, unsafe, first };
}

/** A next key is announced (pre-renew): its records get published ahead of the renewal. */
export function announceNextKey(state: RolloverState, key: ChainRef): RolloverState {
  if (state.next?.id === key.id) return state;
  return { ...state, next: key };
}

export function emptyState(): RolloverState {
  return { owned: [], seen: {}, names: {} };
}
