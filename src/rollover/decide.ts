// The rollover core: one pure decision per run. Every rule that keeps DANE clients working lives
// here; the engine only gathers the observation, then carries out the plan step by step.
//
// Invariant (RFC 7671 §8, DESIGN.md §2): at every instant, every chain the service may present is
// matched, for each (usage, selector, matching) combination it can be matched by, by a record of
// that combination in every TLSA RRset a validating resolver may have cached. Hence:
// - publish every record a chain in play needs, first;
// - promote a chain only when each of its combinations has a ready record at every name (the
//   newest such chain of the queue: a renewal arriving meanwhile never restarts the wait);
// - withdraw only owned records no chain in play needs, once the chain in service is ready, after
//   any reload that frees the retiring chain, after --connect saw the chain live, and never a
//   share of a name the safety check refuses without --force.
import { recordKey, type TlsaRecord } from '../tlsa/record.js';
import { applyStep, queue } from './apply.js';
import { defaultLifetimePolicy, formatDuration } from './lifetime.js';
import { chainReady, comboReadiness, comboText } from './readiness.js';
import { unsafeWithdrawals } from './safety.js';
import { updateSeen } from './seen.js';
import { Exit, worst } from '../errors.js';
import type { ChainReadiness, ChainRef, ChainRole, Decision, DecideOptions, DecideTrigger, Observation, Presence, RolloverState, Step } from './types.js';

/** Older renewals kept waiting at most; beyond, the newest of them goes (the oldest is closest to ready). */
export const MAX_WAITING = 8;

const EMPTY: Presence = { anywhere: new Set(), everywhere: new Set() };

export function emptyState(): RolloverState {
  return { owned: [], seen: {}, names: {} };
}

const keysOf = (chains: (ChainRef | undefined)[]): Set<string> =>
  new Set(chains.flatMap((c) => c?.records ?? []).map(recordKey));

/** A key whose records a chain in service or waiting already carries is no longer "next". */
export function keyInUse(state: RolloverState, key: ChainRef): boolean {
  return [state.inService, ...queue(state)].some((c) => c !== undefined && key.records.every((r) => c.records.some((x) => recordKey(x) === recordKey(r))));
}

/** Every chain whose records must stay: in service, queued, next, retiring. */
export function inPlay(state: RolloverState): ChainRef[] {
  return [state.inService, ...queue(state), state.next, state.retiring].filter((c): c is ChainRef => c !== undefined);
}

/**
 * Owned records that are gone everywhere and no longer wanted were withdrawn: forget them. Only
 * when every server answered: a server that timed out proves nothing.
 */
function forgetWithdrawn(state: RolloverState, presence: Record<string, Presence>, wanted: Set<string>): RolloverState {
  const gone = (name: string, key: string) => presence[name]?.complete === true && !presence[name]!.anywhere.has(key);
  const owned = state.owned.filter((o) => wanted.has(recordKey(o.record)) || !gone(o.name, recordKey(o.record)));
  return owned.length === state.owned.length ? state : { ...state, owned };
}

interface Folded {
  state: RolloverState;
  known: boolean;
  unsafe: boolean;
  deployedNew: boolean;
  first: boolean;
  nextKeyUsed: boolean;
  warnings: string[];
}

/** Folds the trigger into the state: a renewed chain arrives, a next key is announced. */
function foldTrigger(state: RolloverState, trigger: DecideTrigger, o: DecideOptions, now: number, nothingPublished: boolean): Folded {
  const warnings: string[] = [];
  let known = false;
  let unsafe = false;
  let deployedNew = false;
  let first = false;
  // Expired chains cannot be promoted usefully: they leave the queue (their records become stale).
  const expired = queue(state).filter((c) => c.notAfter !== undefined && c.notAfter <= now);
  if (expired.length > 0) {
    const q = queue(state).filter((c) => !expired.includes(c));
    state = { ...state, pending: q.at(-1), waiting: q.slice(0, -1) };
    warnings.push(`dropped ${expired.length} renewed chain(s) that expired before their records were ready (${expired.map((c) => c.id.slice(0, 12)).join(', ')})`);
  }
  if (trigger.kind === 'deploy') {
    const chain = trigger.chain;
    first = state.inService === undefined && state.pending === undefined;
    known = state.inService?.id === chain.id || queue(state).some((c) => c.id === chain.id);
    if (!known) {
      deployedNew = true;
      // The renewal used the next key when it carries every record the next key has.
      const next = state.next && keyInUse({ ...emptyState(), inService: chain }, state.next) ? undefined : state.next;
      if (o.staged) {
        let waiting = queue(state);
        if (waiting.length > MAX_WAITING) waiting = waiting.slice(0, MAX_WAITING);
        state = { ...state, next, waiting, pending: { ...chain, ...(first ? { immediate: true } : {}) } };
      } else {
        // Direct mode: the client already put it in service, safe or not.
        unsafe = !(first && nothingPublished) && !chainReady(state, o.names, chain, now);
        // Until the service reloads, its running processes may present the previous chain.
        const retiring = state.inService ? (state.retiring ?? state.inService) : state.retiring;
        state = { ...state, next, inService: chain, pending: undefined, waiting: [], retiring, ...(o.reload ? { reloadDue: true } : {}) };
      }
    }
  }
  // Direct mode without --reload: nothing tells when the service reloads; the previous chain's
  // records stay for the deploy run, and a later run takes it that the service has reloaded.
  if (!o.staged && !o.reload && !deployedNew && state.retiring) state = { ...state, retiring: undefined };
  let nextKeyUsed = false;
  if (trigger.nextKey) {
    if (keyInUse(state, trigger.nextKey)) nextKeyUsed = true;
    else if (state.next?.id !== trigger.nextKey.id) state = { ...state, next: trigger.nextKey };
  }
  return { state, known, unsafe, deployedNew, first, nextKeyUsed, warnings };
}

export function decide(prev: RolloverState, trigger: DecideTrigger, observation: Observation, now: number, o: DecideOptions): Decision {
  const present = (name: string) => observation.presence[name] ?? EMPTY;
  // A first deploy may skip the wait only while no TLSA RRset exists at any of its names: then no
  // resolver can hold one that fails to match. Anything already there (a next key, a fleet peer's
  // records, a rerun after a crash) means the normal wait.
  const nothingPublished = o.names.every((n) => present(n).anywhere.size === 0);
  const seen = updateSeen(prev, { now, ttl: o.ttl, negativeTtl: observation.negativeTtl, presence: observation.presence });
  const f = foldTrigger(seen, trigger, o, now, nothingPublished);
  const warnings = [...f.warnings];
  const held: string[] = [];
  const keep = (o.keep ?? []).map(recordKey);
  let state = forgetWithdrawn(f.state, observation.presence, new Set([...keysOf(inPlay(f.state)), ...o.pins.map(recordKey), ...keep]));
  const decided = state;
  const plan: Step[] = [];

  if (f.unsafe) {
    warnings.push(
      'UNSAFE: the new certificate went live before a ready TLSA record of each combination matched it; DANE clients holding cached records may fail for up to 2 x TTL. Use --activate-dir (staged mode) or a next key to avoid this',
    );
  }

  // 1. Publish every record a chain in play needs that no server has yet (first: a reload
  // that fails later stops the run, and the records should be out by then).
  const wanted = new Map<string, TlsaRecord>();
  for (const r of [...inPlay(state).flatMap((c) => c.records), ...o.pins]) wanted.set(recordKey(r), r);
  for (const name of o.names) {
    for (const [key, record] of wanted) {
      if (!present(name).anywhere.has(key)) plan.push({ kind: 'publish', name, record, ttl: o.ttl, reason: 'needed by a chain in play and served by no server' });
    }
  }

  // 2. A promotion or reload that did not finish (the reload failed, or the run died): again.
  const retrying = (state.retiring !== undefined || state.reloadDue === true) && state.inService !== undefined && !(f.deployedNew && !o.staged);
  if (retrying) {
    if (o.staged) plan.push({ kind: 'promote', chainId: state.inService!.id, immediate: false, retry: true, reason: 'the last promotion was not confirmed by a reload' });
    plan.push({ kind: 'reload', chainId: state.inService!.id, retry: true, reason: 'the service may still present the previous chain' });
  }
  if (f.deployedNew && !o.staged && o.reload) plan.push({ kind: 'reload', chainId: state.inService!.id, reason: 'the ACME client installed a new certificate' });

  // 3. Promote the newest queued chain whose every combination is ready (or a first deploy at once).
  if (o.staged) {
    const q = queue(state);
    const readyOne = [...q].reverse().find((c) => chainReady(state, o.names, c, now));
    const firstNow = state.pending?.immediate === true && nothingPublished;
    const chosen = readyOne ?? (firstNow ? state.pending : undefined);
    if (chosen && retrying) held.push(`promotion of ${chosen.id.slice(0, 12)} waits until the reload of the chain in service succeeds`);
    else if (chosen) {
      plan.push({ kind: 'promote', chainId: chosen.id, immediate: !readyOne, reason: readyOne ? 'every combination has a ready record at every name' : 'first deploy: no TLSA RRset exists at any name' });
      plan.push({ kind: 'reload', chainId: chosen.id, reason: 'the activate dir holds the new chain' });
    }
  }
  // The state as it will stand once the steps so far ran.
  let after = state;
  for (const s of plan) after = applyStep(after, s, now);

  // 4. Withdraw owned records that no chain in play needs, once the chain in service is safe.
  const needed = new Set([...keysOf(inPlay(after)), ...o.pins.map(recordKey), ...keep]);
  const stale = after.owned.filter((x) => !o.names.includes(x.name) || !needed.has(recordKey(x.record)));
  let withdrawals: Step[] = stale.map((x) => ({ kind: 'withdraw', name: x.name, record: x.record, reason: 'no chain in play needs it' }));
  if (withdrawals.length > 0) {
    const hold = !after.inService
      ? 'no chain is in service yet'
      : !chainReady(after, o.names, after.inService, now)
        ? `the chain in service is not yet matched by a ready record of every combination at every name (${comboText(comboReadiness(after, o.names, after.inService, now).filter((c) => !c.ready), o.names)})`
        : f.deployedNew && !o.staged && !o.reload && !o.connect && !f.first
          ? 'the service may present the previous certificate until it reloads: stale records go at the next advance'
          : undefined;
    if (hold) {
      held.push(hold);
      withdrawals = [];
    }
  }
  // Withdrawals that would empty a name or take most of it wait for --force; the rest goes ahead.
  const risky = unsafeWithdrawals([...plan, ...withdrawals], observation.presence);
  let refused = false;
  if (risky.reasons.length > 0 && !o.force && withdrawals.some((s) => s.kind === 'withdraw' && risky.names.has(s.name))) {
    withdrawals = withdrawals.filter((s) => s.kind !== 'withdraw' || !risky.names.has(s.name));
    warnings.push(`withdrawal refused: ${risky.reasons.join('; ')}; rerun with --force if that is intended`);
    held.push(`withdrawals that need --force: ${risky.reasons.join('; ')}`);
    refused = true;
  }
  if (withdrawals.length > 0 && o.connect) plan.push({ kind: 'verify', chainId: after.inService!.id, reason: '--connect: withdraw only once the service presents the chain in service' });
  plan.push(...withdrawals);

  // 5. Readiness per chain and combination (as things stand before the plan runs: what status
  // shows), the next look (as they will stand after it), the outcome.
  const readiness = readinessOf(decided, o, now);
  const poll = now + (o.pollMs ?? 60_000);
  const waits = (after === decided ? readiness : readinessOf(after, o, now))
    .filter((r) => !r.ready && r.role !== 'retiring')
    .map((r) => Math.max(now, ...r.combos.filter((c) => c.matchable && !c.ready).map((c) => c.readyAt ?? poll)));
  const soonest = Math.min(...waits);

  const codes: number[] = [];
  if (f.unsafe) codes.push(Exit.UNSAFE);
  if (refused) codes.push(Exit.UNSAFE_PLAN);
  const policy = o.lifetime ?? defaultLifetimePolicy;
  const lifetimeInput = { state: after, options: o, now, negativeTtl: observation.negativeTtl };
  const next = readiness.find((r) => r.role === 'next key');
  if (trigger.kind === 'pre-renew' && next && !next.ready) {
    // The gate never blocks a due renewal: near expiry it lets it through (issue 12).
    const gate = policy.renewalGate?.(lifetimeInput) ?? { verdict: 'hold', reason: "the next key's record is not ready" };
    if (gate.verdict === 'hold') {
      codes.push(Exit.NOT_READY);
      held.push(`renewal: ${gate.reason}`);
    } else warnings.push(gate.warning);
  }
  const expiring = expiryWarning(after, o, now);
  if (expiring) {
    warnings.push(expiring);
    if (trigger.kind === 'advance') codes.push(Exit.EXPIRING);
  }
  warnings.push(...(policy.warnings?.(lifetimeInput) ?? []));

  return {
    state: decided,
    plan,
    held,
    readiness,
    nextAt: Number.isFinite(soonest) ? soonest : undefined,
    warnings,
    outcome: worst(codes),
    known: f.known,
    unsafe: f.unsafe,
    nextKeyUsed: f.nextKeyUsed,
  };
}

function readinessOf(state: RolloverState, o: DecideOptions, now: number): ChainReadiness[] {
  const roles: [ChainRole, ChainRef | undefined][] = [
    ['in service', state.inService],
    ['pending', state.pending],
    ...(state.waiting ?? []).map((c): [ChainRole, ChainRef] => ['waiting', c]),
    ['next key', state.next],
    ['retiring', state.retiring],
  ];
  return roles
    .filter((r): r is [ChainRole, ChainRef] => r[1] !== undefined)
    .map(([role, c]) => {
      const combos = comboReadiness(state, o.names, c, now, o.params);
      return { role, id: c.id, ready: combos.every((x) => x.ready || !x.matchable), combos };
    });
}

/**
 * The chain in service is close to expiry and no ready chain can replace it: say so, and why.
 * Exported for `check` (a CRITICAL there): undefined when all is well.
 */
export function expiryWarning(state: RolloverState, o: DecideOptions, now: number): string | undefined {
  const c = state.inService;
  if (c?.notAfter === undefined) return undefined;
  const left = c.notAfter - now;
  if (left > (o.lifetime ?? defaultLifetimePolicy).warnBeforeMs(c)) return undefined;
  const q = queue(state);
  const why =
    q.length === 0
      ? 'no renewed chain has arrived (is the ACME client renewing?)'
      : `the renewed chain is not ready yet (${comboText(comboReadiness(state, o.names, q.at(-1)!, now).filter((x) => !x.ready), o.names)})`;
  const when = new Date(c.notAfter).toISOString();
  const head = left <= 0 ? `the certificate in service (${c.id.slice(0, 12)}) EXPIRED at ${when}, ${formatDuration(-left)} ago` : `the certificate in service (${c.id.slice(0, 12)}) expires at ${when}, in ${formatDuration(left)}`;
  return `${head}, and no ready chain can replace it: ${why}`;
}
