// decisionStableUntil against decide itself: for random states (chains with validity in every
// role, seen records ready and not, owned records, peers' records, one or two names), triggers and
// observations that add nothing to `seen`, decide at any time before the returned one gives exactly
// the decision it gave at `now`. The memo of idle services (engine/idle-memo.ts) rests on this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decide } from '../../src/rollover/decide.js';
import { decisionStableUntil } from '../../src/rollover/stable.js';
import { recordKey } from '../../src/tlsa/record.js';
import type { ChainRef, DecideTrigger, Presence, RolloverState } from '../../src/rollover/types.js';
import { NAME, P, chainOf, eeRecord, nextKeyOf, options } from './fixtures.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NAME2 = '_465._tcp.mx.example.test.';

/** A time around now: mostly hours, sometimes days (expiry windows), either side. */
const around = fc.oneof(fc.integer({ min: -6 * HOUR, max: 6 * HOUR }), fc.integer({ min: -40 * DAY, max: 40 * DAY })).map((d) => NOW + d);

/** Mostly far from expiry (the settled service a timer finds), sometimes close to it or past. */
const validity = fc.record({ notAfter: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 20 * DAY, max: 80 * DAY }).map((d) => NOW + d) }, { weight: 1, arbitrary: around }), lifetimeDays: fc.constantFrom(6, 45, 90) }).map((v) => ({ notAfter: v.notAfter, notBefore: v.notAfter - v.lifetimeDays * DAY }));

const withValidity = (c: ChainRef, v: { notBefore: number; notAfter: number } | null): ChainRef => (v ? { ...c, ...v } : c);

const world = fc
  .record({
    params: fc.constantFrom('3 1 1,2 1 1', '3 1 1', '3 1 1,3 1 2,2 1 1').map((t) => t.split(',').map(P)),
    names: fc.constantFrom(1, 2).map((n) => [NAME, NAME2].slice(0, n)),
    roles: fc.record({ inService: fc.boolean(), pending: fc.boolean(), waiting: fc.integer({ min: 0, max: 2 }), retiring: fc.boolean(), next: fc.boolean(), reloadDue: fc.boolean() }),
    validities: fc.array(fc.option(validity, { nil: null }), { minLength: 6, maxLength: 6 }),
    // Per record and name: not seen, or seen with a readyAt around now; served everywhere, somewhere, nowhere.
    // Mostly seen long ago and served everywhere (settled), else anything.
    settled: fc.boolean(),
    seenPick: fc.array(fc.record({ seen: fc.boolean(), since: around, wait: fc.integer({ min: 0, max: 4 * HOUR }), served: fc.constantFrom('everywhere', 'somewhere', 'nowhere'), owned: fc.boolean() }), { minLength: 40, maxLength: 40 }),
    peers: fc.integer({ min: 0, max: 2 }),
    ttl: fc.constantFrom(60, 3600),
    negativeTtl: fc.constantFrom(0, 300),
    staged: fc.boolean(),
    reload: fc.boolean(),
    trigger: fc.constantFrom('advance', 'pre-renew', 'pre-renew-next', 'deploy-known', 'deploy-new'),
    complete: fc.boolean(),
  })
  .map((w) => {
    const v = (i: number) => w.validities[i] ?? null;
    const state: RolloverState = { owned: [], seen: {}, names: {} };
    if (w.roles.inService) state.inService = withValidity(chainOf(1, 1, w.params, 1), v(0));
    if (w.roles.pending) state.pending = withValidity(chainOf(2, 1, w.params, 2), v(1));
    if (w.roles.waiting > 0) state.waiting = Array.from({ length: w.roles.waiting }, (_, i) => withValidity(chainOf(3 + i, 1, w.params, 3 + i), v(2 + i)));
    if (w.roles.retiring) state.retiring = withValidity(chainOf(9, 2, w.params, 9), v(4));
    if (w.roles.next) state.next = nextKeyOf(20, w.params);
    if (w.roles.reloadDue && state.inService) state.reloadDue = true;
    const chains = [state.inService, state.pending, ...(state.waiting ?? []), state.retiring, state.next].filter((c): c is ChainRef => c !== undefined);
    const records = [...new Map(chains.flatMap((c) => c.records).map((r) => [recordKey(r), r])).values()];
    const foreign = Array.from({ length: w.peers }, (_, i) => eeRecord(500 + i));
    const presence: Record<string, Presence> = {};
    let k = 0;
    for (const name of w.names) {
      const p: Presence = { anywhere: new Set(), everywhere: new Set(), ttl: w.ttl, complete: w.complete };
      state.seen[name] = {};
      for (const r of [...records, ...foreign]) {
        const any = w.seenPick[k++ % w.seenPick.length]!;
        const pick = w.settled ? { ...any, seen: true, since: Math.min(any.since, NOW - 5 * HOUR), served: 'everywhere' } : any;
        const key = recordKey(r);
        // Served everywhere only when seen before: a record first served everywhere would be dated now.
        if (pick.seen) state.seen[name]![key] = { since: pick.since, readyAt: pick.since + pick.wait };
        if (pick.served === 'everywhere' && pick.seen) p.everywhere.add(key);
        if (pick.served !== 'nowhere' && (pick.served === 'somewhere' || pick.seen)) p.anywhere.add(key);
        if (pick.owned && !foreign.includes(r)) state.owned.push({ name, record: r, ttl: w.ttl, addedAt: pick.since });
      }
      state.names[name] = { maxTtl: w.ttl, empty: p.anywhere.size === 0 };
      presence[name] = p;
    }
    const trigger: DecideTrigger =
      w.trigger === 'advance'
        ? { kind: 'advance' }
        : w.trigger === 'pre-renew'
          ? { kind: 'pre-renew' }
          : w.trigger === 'pre-renew-next'
            ? { kind: 'pre-renew', nextKey: nextKeyOf(21, w.params) }
            : { kind: 'deploy', chain: w.trigger === 'deploy-known' && state.inService ? state.inService : withValidity(chainOf(30, 1, w.params, 30), v(5)) };
    const o = options({ names: w.names, params: w.params, ttl: w.ttl, staged: w.staged, reload: w.reload, pollMs: 60_000 });
    return { state, trigger, observation: { presence, negativeTtl: w.negativeTtl }, o };
  });

test('property: decide at any time before decisionStableUntil decides as it did at now', () => {
  let stable = 0;
  let runs = 0;
  fc.assert(
    fc.property(world, fc.double({ min: 0, max: 1, noNaN: true }), ({ state, trigger, observation, o }, at) => {
      runs++;
      const d = decide(state, trigger, observation, NOW, o);
      const until = decisionStableUntil(state, d, o, NOW);
      assert.ok(until >= NOW);
      if (until === NOW) return;
      stable++;
      const last = Number.isFinite(until) ? until - 1 : NOW + 400 * DAY;
      for (const t of [Math.min(NOW + 1, last), last, Math.floor(NOW + (last - NOW) * at)]) assert.deepEqual(decide(state, trigger, observation, t, o), d, `at now + ${t - NOW} ms (stable until now + ${until - NOW} ms)`);
    }),
    { numRuns: 6000 },
  );
  // Not true by returning `now` always: many decisions stand a while.
  assert.ok(stable > runs / 10, `only ${stable} of ${runs} decisions were stable`);
});

test('a decision whose warning counts down, or that looks again at a moving time, is not stable', () => {
  const o = options({ ttl: 60 });
  const chain = { ...chainOf(1, 1), notBefore: NOW - 80 * DAY, notAfter: NOW + 2 * DAY }; // inside 14 days: the expiry warning
  const keys = chain.records.map(recordKey);
  const seen = Object.fromEntries(keys.map((k) => [k, { since: NOW - 40 * DAY, readyAt: NOW - 40 * DAY + 120_000 }]));
  const state: RolloverState = { inService: chain, owned: [], seen: { [NAME]: seen }, names: { [NAME]: { maxTtl: 60, empty: false } } };
  const presence = { [NAME]: { anywhere: new Set(keys), everywhere: new Set(keys), ttl: 60, complete: true } };
  const d = decide(state, { kind: 'advance' }, { presence, negativeTtl: 0 }, NOW, o);
  assert.ok(d.warnings.some((w) => w.includes('expires at')));
  assert.equal(decisionStableUntil(state, d, o, NOW), NOW);
  // The same chain a month before: stable until a threshold of the chain in service.
  // (Not the warning's start, 14 days before expiry: the renewal gate's release comes first, a
  // third of the 82-day lifetime before it.)
  const earlier = NOW - 30 * DAY;
  const d2 = decide(state, { kind: 'advance' }, { presence, negativeTtl: 0 }, earlier, o);
  assert.deepEqual(d2.warnings, []);
  assert.equal(decisionStableUntil(state, d2, o, earlier), chain.notAfter - (82 * DAY) / 3);
  const d3 = decide(state, { kind: 'advance' }, { presence, negativeTtl: 0 }, chain.notAfter - 20 * DAY, o);
  assert.equal(decisionStableUntil(state, d3, o, chain.notAfter - 20 * DAY), chain.notAfter - 14 * DAY);
});
