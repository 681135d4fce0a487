// Deterministic cases of the planner, seen, events and safety modules (the property test covers
// random sequences; these pin down each rule on its own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, chainReady } from '../../src/rollover/planner.js';
import { updateSeen } from '../../src/rollover/seen.js';
import { deploy, emptyState } from '../../src/rollover/events.js';
import { unsafeWithdrawals } from '../../src/rollover/safety.js';
const unsafeReasons = (...a: Parameters<typeof unsafeWithdrawals>) => unsafeWithdrawals(...a).reasons;
import { recordKey } from '../../src/tlsa/record.js';
import type { Presence, RolloverState } from '../../src/rollover/types.js';
import { NAME, chainOf, eeRecord, taRecord } from './simulator.js';

const keys = (...rs: { usage: number }[]) => new Set(rs.map((r) => recordKey(r as never)));
const served = (...rs: Parameters<typeof recordKey>[0][]): Record<string, Presence> => ({ [NAME]: { anywhere: keys(...rs), everywhere: keys(...rs), ttl: 60 } });

test('first deploy: publish both records, promote at once while nothing is published', () => {
  const { state } = deploy(emptyState(), chainOf(1, 1), { staged: true, names: [NAME], now: 0 });
  const p = plan({ now: 0, names: [NAME], ttl: 60, pins: [], state, presence: {} });
  assert.deepEqual(p.steps.map((s) => s.kind), ['publish', 'publish', 'promote']);
});

test('first deploy waits when something is already published at the name (a next key, a peer)', () => {
  const { state } = deploy(emptyState(), chainOf(1, 1), { staged: true, names: [NAME], now: 0 });
  const p = plan({ now: 0, names: [NAME], ttl: 60, pins: [], state, presence: served(eeRecord(9)) });
  assert.ok(!p.steps.some((s) => s.kind === 'promote'));
  assert.equal(p.readiness.pending, false);
});

test('readiness: 2 x max(TTL, negative TTL when the RRset was new) after every server first served it', () => {
  let s: RolloverState = emptyState();
  s = updateSeen(s, { now: 1000, ttl: 60, negativeTtl: 300, presence: served(eeRecord(1)) });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(1))]!.readyAt, 1000 + 2 * 300 * 1000, 'unknown history counts as new: negative TTL');
  s = updateSeen(s, { now: 5000, ttl: 60, negativeTtl: 300, presence: served(eeRecord(1), eeRecord(2)) });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(2))]!.readyAt, 5000 + 2 * 60 * 1000, 'RRset existed: TTL only');
  // a server stops serving it: the clock starts over
  s = updateSeen(s, { now: 9000, ttl: 60, negativeTtl: 300, presence: { [NAME]: { anywhere: keys(eeRecord(1), eeRecord(2)), everywhere: keys(eeRecord(1)), ttl: 60 } } });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(2))], undefined);
});

test('a larger TTL seen before counts: caches may hold the old RRset that long', () => {
  let s: RolloverState = emptyState();
  s = updateSeen(s, { now: 0, ttl: 60, negativeTtl: 0, presence: { [NAME]: { anywhere: keys(eeRecord(1)), everywhere: keys(eeRecord(1)), ttl: 3600 } } });
  s = updateSeen(s, { now: 10, ttl: 60, negativeTtl: 0, presence: served(eeRecord(1), eeRecord(2)) });
  assert.equal(s.seen[NAME]![recordKey(eeRecord(2))]!.readyAt, 10 + 2 * 3600 * 1000);
});

test('renewal with a new key and a new issuer: pending until ready, then promote and withdraw only stale owned records', () => {
  const old = chainOf(1, 1);
  let s: RolloverState = { ...emptyState(), inService: old, owned: old.records.map((record) => ({ name: NAME, record, ttl: 60, addedAt: 0 })) };
  s = updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...old.records) });
  s = deploy(s, chainOf(2, 2), { staged: true, names: [NAME], now: 200_000 }).state;
  const fresh = chainOf(2, 2).records;
  s = { ...s, owned: [...s.owned, ...fresh.map((record) => ({ name: NAME, record, ttl: 60, addedAt: 200_000 }))] };
  const foreign = eeRecord(77);
  const all = served(...old.records, ...fresh, foreign);
  s = updateSeen(s, { now: 200_000, ttl: 60, negativeTtl: 60, presence: all });
  const early = plan({ now: 200_001, names: [NAME], ttl: 60, pins: [], state: s, presence: all });
  assert.deepEqual(early.steps, []);
  assert.equal(early.nextAt, 200_000 + 120_000);
  const late = plan({ now: 320_000, names: [NAME], ttl: 60, pins: [], state: s, presence: all });
  assert.deepEqual(late.steps.map((x) => x.kind), ['promote', 'withdraw', 'withdraw']);
  assert.deepEqual(late.steps.slice(1).map((x) => (x.kind === 'withdraw' ? recordKey(x.record) : '')), old.records.map(recordKey));
});

test('a new key from the same issuer is matched by the ready 2 1 1 at once (DANE-TA carries it)', () => {
  const old = chainOf(1, 1);
  let s: RolloverState = { ...emptyState(), inService: old };
  s = updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...old.records) });
  s = deploy(s, chainOf(2, 1), { staged: true, names: [NAME], now: 500_000 }).state;
  const p = plan({ now: 500_000, names: [NAME], ttl: 60, pins: [], state: s, presence: served(...old.records) });
  assert.deepEqual(p.steps.map((x) => x.kind), ['publish', 'promote']);
});

test('direct mode: a chain no ready record matches is unsafe; one matched by a ready record is not', () => {
  const old = chainOf(1, 1);
  let s: RolloverState = { ...emptyState(), inService: old };
  s = updateSeen(s, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...old.records) });
  assert.equal(deploy(s, chainOf(2, 2), { staged: false, names: [NAME], now: 500_000 }).unsafe, true);
  assert.equal(deploy(s, chainOf(1, 2), { staged: false, names: [NAME], now: 500_000 }).unsafe, false, 'same key, new issuer: 3 1 1 is ready');
  assert.ok(chainReady(s, [NAME], chainOf(1, 2), 500_000));
});

test('pins are always published and never withdrawn', () => {
  const pin = taRecord(42);
  const s: RolloverState = { ...emptyState(), inService: chainOf(1, 1), owned: [{ name: NAME, record: pin, ttl: 60, addedAt: 0 }] };
  const p = plan({ now: 0, names: [NAME], ttl: 60, pins: [pin], state: s, presence: served(...chainOf(1, 1).records) });
  assert.ok(p.steps.some((x) => x.kind === 'publish' && recordKey(x.record) === recordKey(pin)));
  assert.ok(!p.steps.some((x) => x.kind === 'withdraw'));
});

test('safety: withdrawing the last record at a name, or more than half of ten or more, is refused', () => {
  const p1 = { steps: [{ kind: 'withdraw' as const, name: NAME, record: eeRecord(1) }], readiness: {}, held: [] };
  assert.match(unsafeReasons(p1, served(eeRecord(1)))[0]!, /no TLSA record/);
  const twelve = Array.from({ length: 12 }, (_, i) => eeRecord(i));
  const p2 = { steps: twelve.slice(0, 7).map((record) => ({ kind: 'withdraw' as const, name: NAME, record })), readiness: {}, held: [] };
  assert.match(unsafeReasons(p2, served(...twelve))[0]!, /more than 50%/);
  const p2b = { steps: twelve.slice(0, 3).map((record) => ({ kind: 'withdraw' as const, name: NAME, record })), readiness: {}, held: [] };
  assert.deepEqual(unsafeReasons(p2b, served(...twelve.slice(0, 4))), [], 'a small set: only the last record counts');
  const p3 = { steps: [eeRecord(1), taRecord(1)].map((record) => ({ kind: 'withdraw' as const, name: NAME, record })), readiness: {}, held: [] };
  assert.deepEqual(unsafeReasons(p3, served(eeRecord(1), taRecord(1), eeRecord(2), taRecord(2))), [], 'key and issuer change: half is fine');
});
