// Deterministic cases of the rollover core (decide, applyStep, seen, safety, the outcome order);
// the property test covers random sequences, these pin down each rule on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, emptyState } from '../../src/rollover/decide.js';
import { applyStep } from '../../src/rollover/apply.js';
import { chainReady, comboReadiness } from '../../src/rollover/readiness.js';
import { updateSeen } from '../../src/rollover/seen.js';
import { unsafeWithdrawals } from '../../src/rollover/safety.js';
import { Exit, OUTCOME_ORDER, worst } from '../../src/errors.js';
import { recordKey, type TlsaRecord } from '../../src/tlsa/record.js';
import type { Decision, DecideTrigger, Presence, RolloverState, Step } from '../../src/rollover/types.js';
import { NAME, P, chainOf, eeRecord, nextKeyOf, options, taRecord } from './fixtures.js';

const keys = (...rs: TlsaRecord[]) => new Set(rs.map(recordKey));
const served = (...rs: TlsaRecord[]): Record<string, Presence> => ({ [NAME]: { anywhere: keys(...rs), everywhere: keys(...rs), ttl: 60, complete: true } });
const ADV: DecideTrigger = { kind: 'advance' };
const obs = (presence: Record<string, Presence>, negativeTtl = 60) => ({ presence, negativeTtl });
const kinds = (d: Decision) => d.plan.map((s) => s.kind);
const run = (d: Decision, now = 0): RolloverState => d.plan.reduce((s, st) => applyStep(s, st, now), d.state);
const owned = (...rs: TlsaRecord[]) => rs.map((record) => ({ name: NAME, record, ttl: 60, addedAt: 0 }));
const unsafeReasons = (steps: Step[], p: Record<string, Presence>) => unsafeWithdrawals(steps, p).reasons;
const W = (record: TlsaRecord): Step => ({ kind: 'withdraw', name: NAME, record, reason: '' });

test('first deploy: publish both records, promote at once while nothing is published', () => {
  const d = decide(emptyState(), { kind: 'deploy', chain: chainOf(1, 1) }, obs({}), 0, options());
  assert.deepEqual(kinds(d), ['publish', 'publish', 'promote', 'reload']);
  assert.equal(run(d).inService?.id, chainOf(1, 1).id);
});

test('first deploy waits when something is already published at the name (a next key, a peer)', () => {
  const d = decide(emptyState(), { kind: 'deploy', chain: chainOf(1, 1) }, obs(served(eeRecord(9))), 0, options());
  assert.ok(!kinds(d).includes('promote'));
  assert.equal(d.readiness.find((r) => r.role === 'pending')?.ready, false);
});

test('readiness: 2 x max(TTL, negative TTL when the RRset was new) after every server first served it', () => {
  let s: RolloverState = emptyState();
  s = updateSeen(s, { now: 1000, ttl: 60, negativeTtl: 300, presence: served(eeRecord(1)) });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(1))]!.readyAt, 1000 + 2 * 300 * 1000, 'unknown history counts as new: negative TTL');
  s = updateSeen(s, { now: 5000, ttl: 60, negativeTtl: 300, presence: served(eeRecord(1), eeRecord(2)) });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(2))]!.readyAt, 5000 + 2 * 60 * 1000, 'RRset existed: TTL only');
  s = updateSeen(s, { now: 9000, ttl: 60, negativeTtl: 300, presence: { [NAME]: { anywhere: keys(eeRecord(1), eeRecord(2)), everywhere: keys(eeRecord(1)), ttl: 60 } } });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(2))], undefined, 'a server stopped serving it: the clock starts over');
});

/** A service with `old` in service for long, its records ready. */
function settled(old = chainOf(1, 1), extra: TlsaRecord[] = []): RolloverState {
  const s: RolloverState = { ...emptyState(), inService: old, owned: owned(...old.records) };
  return updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...old.records, ...extra) });
}

test('the issue 7 case: 3 1 1 + 3 1 2 + 2 1 1, a new key from the same intermediate is not promoted until its 3 1 x are ready', () => {
  const params = [P('3 1 1'), P('3 1 2'), P('2 1 1')];
  const o = options({ params });
  const old = chainOf(1, 1, params);
  const fresh = chainOf(2, 1, params);
  let d = decide(settled(old), { kind: 'deploy', chain: fresh }, obs(served(...old.records)), 500_000, o);
  assert.deepEqual(kinds(d), ['publish', 'publish'], 'only the two new 3 1 x records');
  assert.ok(!kinds(d).includes('promote'), 'the ready 2 1 1 alone does not carry a new key');
  const pending = d.readiness.find((r) => r.role === 'pending')!;
  assert.deepEqual(pending.combos.map((c) => `${c.params}:${c.ready}`), ['3 1 1:false', '3 1 2:false', '2 1 1:true']);
  let s = run(d, 500_000);
  const all = served(...old.records, ...fresh.records);
  d = decide(s, ADV, obs(all), 501_000, o);
  assert.deepEqual(kinds(d), []);
  assert.equal(d.nextAt, 501_000 + 120_000);
  d = decide(run(d), ADV, obs(all), 621_000, o);
  assert.deepEqual(kinds(d), ['promote', 'reload', 'withdraw', 'withdraw']);
  s = run(d);
  assert.equal(s.inService?.id, fresh.id);
  assert.deepEqual(s.owned.map((x) => recordKey(x.record)).sort(), fresh.records.map(recordKey).sort());
});

test('renewals faster than 2 x TTL: the oldest waiting chain is promoted when ready, a newer one keeps waiting', () => {
  const o = options();
  let s = settled();
  let t = 1_000_000;
  const chains = [2, 3, 4].map((k) => chainOf(k, 1));
  const onAir = new Set(chainOf(1, 1).records.map(recordKey));
  const p = (): Record<string, Presence> => ({ [NAME]: { anywhere: new Set(onAir), everywhere: new Set(onAir), ttl: 60, complete: true } });
  const apply = (d: Decision) => {
    for (const st of d.plan) {
      if (st.kind === 'publish') onAir.add(recordKey(st.record));
      if (st.kind === 'withdraw') onAir.delete(recordKey(st.record));
    }
    s = run(d, t);
    return d;
  };
  // a renewal every 50 s, TTL 60: none is ready (120 s) before the next arrives
  for (const c of chains) {
    apply(decide(s, { kind: 'deploy', chain: c }, obs(p()), t, o));
    apply(decide(s, ADV, obs(p()), t, o));
    t += 50_000;
  }
  assert.equal(s.inService?.id, chainOf(1, 1).id);
  assert.deepEqual([...(s.waiting ?? []).map((c) => c.id), s.pending?.id], chains.map((c) => c.id));
  t = 1_000_000 + 121_000; // the first renewal is ready, the later ones not
  const d = apply(decide(s, ADV, obs(p()), t, o));
  assert.equal(d.plan.find((x) => x.kind === 'promote')?.kind === 'promote' && (d.plan.find((x) => x.kind === 'promote') as { chainId: string }).chainId, chains[0]!.id);
  assert.equal(s.inService?.id, chains[0]!.id, 'no starvation: the ready one goes live');
  assert.equal(s.pending?.id, chains[2]!.id, 'the newest keeps waiting');
  assert.ok(d.plan.some((x) => x.kind === 'withdraw' && recordKey(x.record) === recordKey(eeRecord(1))), 'the old key goes');
  assert.ok(!d.plan.some((x) => x.kind === 'withdraw' && recordKey(x.record) === recordKey(eeRecord(3))), 'a waiting chain keeps its records');
});

test('a next key counts per combination; selector 0 has no record before the certificate exists', () => {
  const params = [P('3 1 1'), P('3 0 1')];
  const o = options({ params });
  const d = decide(settled(chainOf(1, 1, params)), { kind: 'pre-renew', nextKey: nextKeyOf(7, params) }, obs(served(...chainOf(1, 1, params).records)), 0, o);
  assert.deepEqual(kinds(d), ['publish']);
  assert.equal(d.outcome, Exit.NOT_READY);
  const next = d.readiness.find((r) => r.role === 'next key')!;
  assert.deepEqual(next.combos.map((c) => `${c.params}:${c.matchable}`), ['3 1 1:true', '3 0 1:false']);
});

test('direct mode: a new key is unsafe while only the 2 1 1 is ready, a new issuer while only the 3 1 1 is; a rerun of the same chain is not', () => {
  const s = settled();
  const o = options({ staged: false, reload: false });
  const p = obs(served(...chainOf(1, 1).records));
  assert.equal(decide(s, { kind: 'deploy', chain: chainOf(2, 1) }, p, 500_000, o).unsafe, true, 'per combination: 3 1 1 is not ready');
  assert.equal(decide(s, { kind: 'deploy', chain: chainOf(1, 2) }, p, 500_000, o).unsafe, true, 'a DANE-TA-only client fails until the new 2 1 1 is ready');
  assert.equal(decide(s, { kind: 'deploy', chain: chainOf(1, 1, undefined, 1) }, p, 500_000, o).unsafe, false, 'same key, same issuer: every combination is ready');
});

test('direct mode without --reload holds withdrawals in the deploy run; with --reload they follow the reload', () => {
  const s = settled(chainOf(1, 1), chainOf(2, 2).records);
  const p = obs(served(...chainOf(1, 1).records, ...chainOf(2, 2).records));
  const sn = { ...s, seen: updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: p.presence }).seen };
  const without = decide(sn, { kind: 'deploy', chain: chainOf(2, 2) }, p, 500_000, options({ staged: false, reload: false }));
  assert.deepEqual(kinds(without), []);
  assert.equal(without.state.retiring?.id, chainOf(1, 1).id, 'the previous chain keeps its records until a later run');
  assert.deepEqual(kinds(decide(run(without), ADV, p, 501_000, options({ staged: false, reload: false }))), ['withdraw', 'withdraw'], 'a later run takes it that the service reloaded');
  const withReload = decide(sn, { kind: 'deploy', chain: chainOf(2, 2) }, p, 500_000, options({ staged: false, reload: true }));
  assert.deepEqual(kinds(withReload), ['reload', 'withdraw', 'withdraw']);
});

test('a reload that did not finish is retried first; a newer promotion waits for it', () => {
  const s: RolloverState = { ...settled(chainOf(2, 2), chainOf(1, 1).records), retiring: chainOf(1, 1), owned: owned(...chainOf(1, 1).records, ...chainOf(2, 2).records) };
  const d = decide(s, ADV, obs(served(...chainOf(1, 1).records, ...chainOf(2, 2).records)), 500_000, options());
  assert.deepEqual(kinds(d), ['promote', 'reload', 'withdraw', 'withdraw']);
  assert.ok((d.plan[0] as { retry?: boolean }).retry);
  // Without the reload (it fails: the run stops there), the retiring chain's records stay.
  const stopped = applyStep(d.state, d.plan[0]!);
  assert.equal(stopped.retiring?.id, chainOf(1, 1).id);
});

test('--connect: a verify step comes before the withdrawals', () => {
  const s: RolloverState = { ...settled(chainOf(2, 2), chainOf(1, 1).records), owned: owned(...chainOf(1, 1).records, ...chainOf(2, 2).records) };
  const d = decide(s, ADV, obs(served(...chainOf(1, 1).records, ...chainOf(2, 2).records)), 500_000, options({ connect: true }));
  assert.deepEqual(kinds(d), ['verify', 'withdraw', 'withdraw']);
});

test('pins are always published and never withdrawn', () => {
  const pin = taRecord(42);
  const s: RolloverState = { ...emptyState(), inService: chainOf(1, 1), owned: owned(pin) };
  const d = decide(s, ADV, obs(served(...chainOf(1, 1).records)), 0, options({ pins: [pin] }));
  assert.ok(d.plan.some((x) => x.kind === 'publish' && recordKey(x.record) === recordKey(pin)));
  assert.ok(!d.plan.some((x) => x.kind === 'withdraw'));
});

test('safety: withdrawing the last record at a name, or more than half of ten or more, is refused (exit 7 unless --force)', () => {
  assert.match(unsafeReasons([W(eeRecord(1))], served(eeRecord(1)))[0]!, /no TLSA record/);
  const twelve = Array.from({ length: 12 }, (_, i) => eeRecord(i));
  assert.match(unsafeReasons(twelve.slice(0, 7).map(W), served(...twelve))[0]!, /more than 50%/);
  assert.deepEqual(unsafeReasons(twelve.slice(0, 3).map(W), served(...twelve.slice(0, 4))), [], 'a small set: only the last record counts');
  // decide: a name that left the config keeps its last records without --force
  const other = '_465._tcp.mx.example.test.';
  const s: RolloverState = { ...settled(), owned: [...owned(...chainOf(1, 1).records), { name: other, record: eeRecord(1), ttl: 60, addedAt: 0 }] };
  const p = { ...served(...chainOf(1, 1).records), [other]: { anywhere: keys(eeRecord(1)), everywhere: keys(eeRecord(1)), complete: true } };
  const d = decide(s, ADV, obs(p), 500_000, options());
  assert.equal(d.outcome, Exit.UNSAFE_PLAN);
  assert.ok(!d.plan.some((x) => x.kind === 'withdraw'));
  assert.ok(decide(s, ADV, obs(p), 500_000, options({ force: true })).plan.some((x) => x.kind === 'withdraw'));
});

test('close to expiry with no ready replacement: a warning, and EXPIRING from advance only', () => {
  const day = 86_400_000;
  const old = { ...chainOf(1, 1), notBefore: 0, notAfter: 6 * day };
  const s = settled(old);
  const p = obs(served(...old.records));
  assert.deepEqual(decide(s, ADV, p, 1 * day, options()).warnings, [], 'five days left of six: fine');
  const late = decide(s, ADV, p, 5 * day, options());
  assert.match(late.warnings.join(), /expires at .* no ready chain can replace it: no renewed chain/);
  assert.equal(late.outcome, Exit.EXPIRING);
  assert.equal(decide(s, { kind: 'pre-renew' }, p, 5 * day, options()).outcome, Exit.OK, 'a pre-hook must not stop the renewal');
  const policy = decide(s, ADV, p, 1 * day, options({ lifetime: { warnBeforeMs: () => 6 * day, warnings: () => ['TTL too long'] } }));
  assert.equal(policy.outcome, Exit.EXPIRING, 'a lifetime policy can be given');
  assert.ok(policy.warnings.includes('TTL too long'));
});

test('the pre-renew gate (issue 12): holds a renewal far from expiry, lets it through with a warning near it', () => {
  const day = 86_400_000;
  const old = { ...chainOf(1, 1), notBefore: 0, notAfter: 6 * day };
  const s = settled(old);
  const p = obs(served(...old.records));
  const pre: DecideTrigger = { kind: 'pre-renew', nextKey: nextKeyOf(7, [P('3 1 1')]) };
  const far = decide(s, pre, p, 1 * day, options());
  assert.equal(far.outcome, Exit.NOT_READY, 'five days left of six: the renewal can wait');
  assert.match(far.held.join(), /renewal: the next key's record is not ready; the certificate in service has 5 d left, so the renewal can wait \(it is let through below 2 d left\)/);
  const near = decide(s, pre, p, 4.5 * day, options());
  assert.equal(near.outcome, Exit.OK, 'a third of the lifetime left: holding could make it expire');
  assert.match(near.warnings.join('\n'), /renewal let through although the next key's record is not ready: the certificate in service has only 1 d 12 h left .*; staged mode keeps the current certificate in service/);
  assert.ok(kinds(near).includes('publish'), "the next key's record is still published");
  const direct = decide(s, pre, p, 4.5 * day, options({ staged: false, reload: false }));
  assert.match(direct.warnings.join('\n'), /goes live at once with its records published now/);
  assert.equal(decide(s, pre, p, 4.5 * day, options({ lifetime: { warnBeforeMs: () => 0 } })).outcome, Exit.NOT_READY, 'a policy without a gate always holds');
});

test('a rollover that cannot keep up with the lifetime is said, with the TTL that fits (issue 12)', () => {
  const old = { ...chainOf(1, 1), notBefore: 0, notAfter: 300_000 };
  const s = settled(old);
  const p = served(...old.records);
  const slow = decide(s, ADV, obs(p, 30), 10_000, options({ ttl: 60 }));
  assert.ok(slow.warnings.some((w) => /^rollover cannot keep up: a new record is ready 2 x TTL 60 s = 2 min .* lower the TTL to 37 s or less/.test(w)), slow.warnings.join('\n'));
  assert.deepEqual(decide(s, ADV, obs(p, 30), 10_000, options({ ttl: 30 })).warnings, [], 'TTL 30, negative TTL 30: 1 min fits a quarter of 5 min');
  assert.ok(decide(s, ADV, obs(p, 60), 10_000, options({ ttl: 30 })).warnings.some((w) => /negative TTL 60 s/.test(w)), 'the negative TTL counts');
});

test('outcome order: failures over hazards over waits, not the numeric maximum', () => {
  assert.equal(worst([Exit.NOT_READY, Exit.DNS]), Exit.DNS, '5 must not hide a DNS failure');
  assert.equal(worst([Exit.UNSAFE_PLAN, Exit.USAGE]), Exit.USAGE);
  assert.equal(worst([Exit.NOT_READY, Exit.UNSAFE]), Exit.UNSAFE);
  assert.equal(worst([Exit.OK, Exit.NOT_READY]), Exit.NOT_READY);
  assert.equal(worst([Exit.RELOAD_FAILED, Exit.EXPIRING, Exit.NOT_VERIFIED]), Exit.RELOAD_FAILED);
  assert.equal(worst([Exit.INTERNAL, Exit.USAGE]), Exit.INTERNAL);
  assert.equal(worst([]), Exit.OK);
  assert.deepEqual([...new Set(OUTCOME_ORDER)].sort(), Object.values(Exit).sort(), 'every code has its place');
});

test('readiness per combination: a chain is ready only when each of its combinations is', () => {
  const params = [P('3 1 1'), P('2 1 1')];
  const s = updateSeen(emptyState(), { now: 0, ttl: 60, negativeTtl: 60, presence: served(taRecord(1)) });
  assert.equal(chainReady(s, [NAME], chainOf(2, 1), 200_000), false);
  assert.deepEqual(comboReadiness(s, [NAME], chainOf(2, 1), 200_000, params).map((c) => c.ready), [false, true]);
});

test('withdrawals wait while the chain in service is not ready (after an unsafe direct deploy)', () => {
  const old = chainOf(1, 1);
  const fresh = chainOf(2, 2);
  let s: RolloverState = { ...emptyState(), inService: fresh, owned: owned(...old.records, ...fresh.records) };
  s = updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...old.records) });
  const p = obs(served(...old.records, ...fresh.records));
  const early = decide(s, ADV, p, 10_000, options({ staged: false, reload: false }));
  assert.ok(!early.plan.some((x) => x.kind === 'withdraw'));
  assert.match(early.held.join(), /not yet matched by a ready record of every combination/);
  const late = decide(run(early), ADV, p, 200_000, options({ staged: false, reload: false }));
  assert.deepEqual(kinds(late), ['withdraw', 'withdraw']);
});

test('an owned record gone from every server is forgotten only when every server answered', () => {
  const s: RolloverState = { ...settled(), owned: owned(...chainOf(1, 1).records, eeRecord(5)) };
  const p = served(...chainOf(1, 1).records);
  const partial = decide(s, ADV, obs({ [NAME]: { ...p[NAME]!, complete: false } }), 500_000, options());
  assert.ok(partial.state.owned.some((o) => recordKey(o.record) === recordKey(eeRecord(5))), 'a server did not answer: still ours');
  const full = decide(s, ADV, obs(p), 500_000, options());
  assert.ok(!full.state.owned.some((o) => recordKey(o.record) === recordKey(eeRecord(5))), 'gone everywhere: forgotten');
});

test('applyStep promote: the previous chain is retiring until the reload step (a crash or failed reload keeps its records)', () => {
  const s: RolloverState = { ...settled(), pending: chainOf(2, 2) };
  const promote: Step = { kind: 'promote', chainId: chainOf(2, 2).id, immediate: false, reason: '' };
  const mid = applyStep(s, promote);
  assert.equal(mid.inService?.id, chainOf(2, 2).id);
  assert.equal(mid.retiring?.id, chainOf(1, 1).id);
  const d = decide(mid, ADV, obs(served(...chainOf(1, 1).records, ...chainOf(2, 2).records)), 500_000, options());
  assert.deepEqual(kinds(d).slice(0, 2), ['promote', 'reload'], 'retried before anything is withdrawn');
  assert.equal(applyStep(mid, { kind: 'reload', chainId: chainOf(2, 2).id, reason: '' }).retiring, undefined);
});
