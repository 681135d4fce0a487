// The core's decision for a service with several lineages (rollover/lineages.ts): each lineage
// decided on its own, then merged so that one never withdraws what another needs, the share rule
// counts all of them, and lineages promoted together share one reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyState } from '../../src/rollover/decide.js';
import { decideLineages, type LineageSlot } from '../../src/rollover/lineages.js';
import { updateSeen } from '../../src/rollover/seen.js';
import { recordKey, type TlsaRecord } from '../../src/tlsa/record.js';
import type { ChainRef, Presence, RolloverState } from '../../src/rollover/types.js';
import { Exit } from '../../src/errors.js';
import { NAME, chainOf, eeRecord, options, taRecord } from './fixtures.js';

const keys = (...rs: TlsaRecord[]) => new Set(rs.map(recordKey));
const served = (...rs: TlsaRecord[]): Record<string, Presence> => ({ [NAME]: { anywhere: keys(...rs), everywhere: keys(...rs), ttl: 60, complete: true } });
const owned = (...rs: TlsaRecord[]) => rs.map((record) => ({ name: NAME, record, ttl: 60, addedAt: 0 }));
const LATER = 10 * 60_000;

/** A lineage with `chain` in service, owning `mine`, everything served ready since time 0. */
function lineage(chain: ChainRef, mine: TlsaRecord[], all: TlsaRecord[], more: Partial<RolloverState> = {}): RolloverState {
  return updateSeen({ ...emptyState(), inService: chain, owned: owned(...mine), ...more }, { now: 0, ttl: 60, negativeTtl: 60, presence: served(...all) });
}
const slot = (name: string, state: RolloverState, over: Partial<LineageSlot> = {}): LineageSlot => ({ lineage: name, state, trigger: { kind: 'advance' }, options: options(), ...over });
const steps = (plan: { kind: string; lineage?: string; record?: TlsaRecord; chainId?: string }[]) =>
  plan.map((s) => `${s.kind} ${s.lineage} ${s.record ? s.record.data.slice(0, 6) : (s.chainId ?? '')}`);

test('a record both lineages match (one issuer for both keys) is not withdrawn by the lineage that owns it while the other needs it', () => {
  // rsa renewed onto a new issuer (2) and owns the old issuer's 2 1 1, which ecdsa's chain still needs.
  const rsa = chainOf(1, 2);
  const ec = chainOf(5, 1);
  const all = [eeRecord(1), taRecord(1), taRecord(2), eeRecord(5)];
  const d = decideLineages(
    [slot('rsa', lineage(rsa, [eeRecord(1), taRecord(1), taRecord(2)], all)), slot('ecdsa', lineage(ec, [eeRecord(5)], all))],
    { presence: served(...all), negativeTtl: 60 },
    LATER,
  );
  assert.deepEqual(d.plan, [], 'ecdsa needs issuer 1: rsa keeps it');
  // Once ecdsa moved to issuer 2 too, rsa withdraws issuer 1's record.
  const ec2 = chainOf(6, 2);
  const all2 = [eeRecord(1), taRecord(1), taRecord(2), eeRecord(6)];
  const d2 = decideLineages(
    [slot('rsa', lineage(rsa, [eeRecord(1), taRecord(1), taRecord(2)], all2)), slot('ecdsa', lineage(ec2, [eeRecord(6)], all2))],
    { presence: served(...all2), negativeTtl: 60 },
    LATER,
  );
  assert.deepEqual(steps(d2.plan), [`withdraw rsa ${taRecord(1).data.slice(0, 6)}`]);
});

test('two lineages ready in one run: both promote, then both reloads (the engine runs one), each verify, then the withdrawals', () => {
  const [rsaOld, rsaNew, ecOld, ecNew] = [chainOf(1, 1), chainOf(2, 1), chainOf(5, 1), chainOf(6, 1)];
  const all = [eeRecord(1), eeRecord(2), taRecord(1), eeRecord(5), eeRecord(6)];
  const d = decideLineages(
    [
      slot('rsa', lineage(rsaOld, [eeRecord(1), taRecord(1), eeRecord(2)], all, { pending: rsaNew }), { options: options({ connect: true }) }),
      slot('ecdsa', lineage(ecOld, [eeRecord(5), eeRecord(6)], all, { pending: ecNew }), { options: options({ connect: true }) }),
    ],
    { presence: served(...all), negativeTtl: 60 },
    LATER,
  );
  assert.deepEqual(d.plan.map((s) => `${s.kind} ${s.lineage}`), ['promote rsa', 'promote ecdsa', 'reload rsa', 'reload ecdsa', 'verify rsa', 'verify ecdsa', 'withdraw rsa', 'withdraw ecdsa']);
  assert.deepEqual(steps(d.plan.filter((s) => s.kind === 'withdraw')), [`withdraw rsa ${eeRecord(1).data.slice(0, 6)}`, `withdraw ecdsa ${eeRecord(5).data.slice(0, 6)}`], 'each its own old key');
  assert.deepEqual(d.readiness.map((r) => `${r.lineage} ${r.role}`), ['rsa in service', 'rsa pending', 'ecdsa in service', 'ecdsa pending']);
});

test('a first chain of the second lineage waits while the first lineage has records out (a resolver may cache them)', () => {
  const rsa = chainOf(1, 1);
  const all = [eeRecord(1), taRecord(1)];
  const d = decideLineages(
    [slot('rsa', lineage(rsa, all, all)), slot('ecdsa', emptyState(), { trigger: { kind: 'deploy', chain: chainOf(5, 1) } })],
    { presence: served(...all), negativeTtl: 60 },
    LATER,
  );
  assert.deepEqual(steps(d.plan), [`publish ecdsa ${eeRecord(5).data.slice(0, 6)}`], 'the shared 2 1 1 is out already; no promotion yet');
});

test('the share rule counts the withdrawals of every lineage together', () => {
  // 12 records at the name: each lineage alone withdraws 4 (33%), together 8 (67%).
  const rsa = chainOf(1, 1);
  const ec = chainOf(5, 1);
  const staleRsa = [10, 11, 12, 13].map((k) => eeRecord(k));
  const staleEc = [20, 21, 22, 23].map((k) => eeRecord(k));
  const peers = [eeRecord(30), eeRecord(31)];
  const all = [...rsa.records, eeRecord(5), ...staleRsa, ...staleEc, ...peers];
  assert.equal(all.length, 13);
  const slots = [slot('rsa', lineage(rsa, [...rsa.records, ...staleRsa], all)), slot('ecdsa', lineage(ec, [eeRecord(5), ...staleEc], all))];
  const d = decideLineages(slots, { presence: served(...all), negativeTtl: 60 }, LATER);
  assert.equal(d.plan.filter((s) => s.kind === 'withdraw').length, 0, 'refused together');
  assert.equal(d.outcome, Exit.UNSAFE_PLAN);
  assert.match(d.held.join('\n'), /withdrawing 8 of 13 records/);
  const forced = decideLineages(slots.map((x) => ({ ...x, options: options({ force: true }) })), { presence: served(...all), negativeTtl: 60 }, LATER);
  assert.equal(forced.plan.filter((s) => s.kind === 'withdraw').length, 8, '--force lets them go');
});

test('a retired lineage withdraws what no configured lineage needs, hands over what one does, and keeps everything while still presented', () => {
  const rsa = chainOf(1, 1);
  const ec = chainOf(5, 1);
  const all = [eeRecord(1), taRecord(1), eeRecord(5)];
  const retired = { lineage: 'rsa', state: lineage(rsa, [eeRecord(1), taRecord(1)], all) };
  const observation = { presence: served(...all), negativeTtl: 60 };
  const d = decideLineages([slot('ecdsa', lineage(ec, [eeRecord(5)], all))], observation, LATER, [retired]);
  assert.deepEqual(steps(d.plan), [`withdraw rsa ${eeRecord(1).data.slice(0, 6)}`]);
  assert.deepEqual(d.handOver.map((h) => `${h.from}->${h.to} ${recordKey(h.owned.record)}`), [`rsa->ecdsa ${recordKey(taRecord(1))}`]);
  assert.equal(d.outcome, Exit.OK);

  const held = decideLineages([slot('ecdsa', lineage(ec, [eeRecord(5)], all))], observation, LATER, [{ ...retired, stillPresented: 'mx:25 still presents it' }]);
  assert.deepEqual(held.plan, []);
  assert.deepEqual(held.handOver, []);
  assert.equal(held.outcome, Exit.NOT_VERIFIED);
  assert.match(held.held.join(), /rsa: the lineage is no longer configured, but mx:25 still presents it/);

  // Its last record withdrawn would empty the name: the share rule holds it as for any withdrawal.
  const alone = decideLineages([slot('ecdsa', { ...emptyState() })], { presence: served(eeRecord(1)), negativeTtl: 60 }, LATER, [{ lineage: 'rsa', state: lineage(rsa, [eeRecord(1)], [eeRecord(1)]) }]);
  assert.deepEqual(alone.plan, []);
  assert.equal(alone.outcome, Exit.UNSAFE_PLAN);
});
