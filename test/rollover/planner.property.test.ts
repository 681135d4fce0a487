// Property test of the planner (fast-check): random renewals, key and issuer changes, next keys,
// failed DNS steps, secondary lag and clock jumps never leave the presented chain unmatched by an
// RRset a resolver may have cached. The world is a model (test/rollover/simulator.ts), by design.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { World, type Event, NAME, chainOf } from './simulator.js';
import { recordKey } from '../../src/tlsa/record.js';

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('renew' as const), newKey: fc.boolean(), newIssuer: fc.boolean(), useNext: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'preRenew' as const }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'advance' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 100, max: 5000 })) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failNext' as const), ops: fc.integer({ min: 1, max: 3 }) }) },
);

test('planner: no sequence of events leaves the presented chain unmatched by a cacheable RRset', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 900 }), fc.array(event, { minLength: 1, maxLength: 60 }), (ttl, negTtl, events) => {
      const w = new World(ttl, negTtl);
      for (const e of events) w.run(e);
      assert.deepEqual(w.violations, [], w.log.join('\n'));
    }),
    { numRuns: 400 },
  );
});

test('planner: with time and syncs, every rollover converges (new chain live, stale records gone)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.array(event, { minLength: 1, maxLength: 40 }), (ttl, events) => {
      const w = new World(ttl, ttl);
      for (const e of events) w.run(e);
      // Let the world settle, with no more failures: rounds of sync + wait + advance.
      w.failOps = 0;
      for (let i = 0; i < 4; i++) {
        w.run({ kind: 'sync' });
        w.run({ kind: 'tick', seconds: 3 * ttl + 1 });
        w.run({ kind: 'advance' });
      }
      w.run({ kind: 'sync' });
      assert.deepEqual(w.violations, []);
      if (!w.state.inService && !w.state.pending) return; // never deployed
      assert.equal(w.state.pending, undefined, 'pending chain promoted');
      const needed = new Set([...(w.state.inService?.records ?? []), ...(w.state.next?.records ?? [])].map(recordKey));
      const owned = w.state.owned.map((o) => recordKey(o.record));
      assert.deepEqual(owned.filter((k) => !needed.has(k)), [], 'no stale owned record left');
      for (const k of needed) assert.ok(w.primary.at(-1)!.keys.has(k), 'every needed record is published');
    }),
    { numRuns: 300 },
  );
});

test('model check: the simulator does flag an unsafe order (promote before the record is ready)', () => {
  // Guards the property above against a checker that cannot fail.
  const w = new World(60, 60);
  w.run({ kind: 'renew', newKey: false, newIssuer: false, useNext: false });
  w.run({ kind: 'sync' });
  w.run({ kind: 'tick', seconds: 200 });
  w.run({ kind: 'advance' });
  assert.deepEqual(w.violations, []);
  // Put a new key in service by hand, bypassing the planner: a cached RRset cannot match it.
  w.presented = chainOf(99, 1);
  w.presented = { ...w.presented, records: w.presented.records.filter((r) => r.usage === 3) };
  w.run({ kind: 'tick', seconds: 1 });
  assert.ok(w.violations.length > 0);
  assert.ok(NAME.endsWith('.'));
});
