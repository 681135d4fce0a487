// The rollover planner: a pure function from state, observations and the clock to ordered steps.
// Invariant (DESIGN.md §2): every chain that may be in service is matched by a record in every
// RRset a validating resolver may have cached. Hence: publish first, promote only when a ready
// record matches, withdraw only what no chain in service, pending or next needs, and only once
// the chain in service is matched by ready records.
import { recordKey, type TlsaRecord } from '../tlsa/record.js';
import type { ChainRef, Plan, Presence, RolloverState, Step } from './types.js';

export interface PlanInput {
  now: number;
  /** The TLSA owner names of the service (absolute). */
  names: string[];
  ttl: number;
  /** Records always wanted at every name (extra CA pins). */
  pins: TlsaRecord[];
  state: RolloverState;
  presence: Record<string, Presence>;
  /** How long to wait before looking again while a record is not yet served everywhere (ms). */
  pollMs?: number;
}

export function isReady(state: RolloverState, name: string, record: TlsaRecord, now: number): boolean {
  const entry = state.seen[name]?.[recordKey(record)];
  return entry !== undefined && now >= entry.readyAt;
}

/** A chain is ready when, at every name, at least one ready record matches it. */
export function chainReady(state: RolloverState, names: string[], chain: ChainRef, now: number): boolean {
  return names.every((name) => chain.records.some((r) => isReady(state, name, r, now)));
}

function uniqueRecords(records: TlsaRecord[]): TlsaRecord[] {
  const byKey = new Map(records.map((r) => [recordKey(r), r]));
  return [...byKey.values()];
}

export function plan(input: PlanInput): Plan {
  const { now, names, state, presence } = input;
  const steps: Step[] = [];
  const held: string[] = [];
  const present = (name: string) => presence[name] ?? { anywhere: new Set<string>(), everywhere: new Set<string>() };

  // 0. A promotion that did not finish (the reload failed, or the run died): do it again.
  if (state.retiring && state.inService) steps.push({ kind: 'promote', chainId: state.inService.id, immediate: false, retry: true });

  // 1. Publish every record a chain in play needs that no server has yet.
  const inPlay = [state.inService, state.pending, state.next, state.retiring].filter((c): c is ChainRef => c !== undefined);
  const wanted = uniqueRecords([...inPlay.flatMap((c) => c.records), ...input.pins]);
  for (const name of names) {
    for (const record of wanted) {
      if (!present(name).anywhere.has(recordKey(record))) steps.push({ kind: 'publish', name, record, ttl: input.ttl });
    }
  }

  // 2. Promote the pending chain once a ready record matches it (or at once on a first deploy).
  let inService = state.inService;
  const pendingReady = state.pending ? chainReady(state, names, state.pending, now) : undefined;
  let pending = state.pending;
  // A first deploy may skip the wait only while no TLSA RRset exists at any of its names: then no
  // resolver can hold one that fails to match. Anything already there (a next key, a fleet peer's
  // records, a rerun after a crash) means the normal wait.
  const nothingPublished = names.every((n) => present(n).anywhere.size === 0);
  if (state.pending && ((state.pending.immediate && nothingPublished) || pendingReady)) {
    steps.push({ kind: 'promote', chainId: state.pending.id, immediate: !pendingReady });
    inService = state.pending;
    pending = undefined;
  }

  // 3. Withdraw owned records that no chain in play needs, once the chain in service is safe.
  // Withdrawals run only after the promotions above succeeded (a failed reload stops the run), so
  // a retiring chain whose promotion is retried here needs nothing any more.
  const retried = steps.some((st) => st.kind === 'promote' && st.retry);
  const needed = new Set(
    [inService, pending, state.next, retried ? undefined : state.retiring]
      .filter((c): c is ChainRef => c !== undefined)
      .flatMap((c) => c.records)
      .concat(input.pins)
      .map(recordKey),
  );
  const serviceReady = inService ? chainReady(state, names, inService, now) : false;
  const stale = state.owned.filter((o) => !names.includes(o.name) || !needed.has(recordKey(o.record)));
  if (stale.length > 0 && !serviceReady) {
    held.push(inService ? 'the chain in service is not yet matched by a ready record at every name' : 'no chain is in service yet');
  } else {
    for (const o of stale) steps.push({ kind: 'withdraw', name: o.name, record: o.record });
  }

  return {
    steps,
    nextAt: nextWake(input, [state.pending, state.next, inService]),
    readiness: {
      inService: state.inService ? chainReady(state, names, state.inService, now) : undefined,
      pending: pendingReady,
      next: state.next ? chainReady(state, names, state.next, now) : undefined,
    },
    held,
  };
}

/** When a waiting chain may become ready: per chain, the name that is ready last; then the soonest chain. */
function nextWake(input: PlanInput, chains: (ChainRef | undefined)[]): number | undefined {
  const { state, names, now } = input;
  const poll = now + (input.pollMs ?? 60_000);
  const times = chains
    .filter((c): c is ChainRef => c !== undefined && !chainReady(state, names, c, now))
    .map((chain) =>
      Math.max(now, ...names.map((name) => Math.min(...chain.records.map((r) => state.seen[name]?.[recordKey(r)]?.readyAt ?? poll)))),
    );
  const soonest = Math.min(...times);
  return Number.isFinite(soonest) ? soonest : undefined;
}
