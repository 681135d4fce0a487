// The short-lifetime policy (pure): the pre-renew gate never blocks a due renewal, the keep-up
// warning names a TTL that really fits, and check's default thresholds fit 6-day and 90-day
// certificates. Properties over random lifetimes and TTLs (fast-check), plus the cases the README names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  EXPIRY_DEFAULTS,
  defaultLifetimePolicy,
  expiryThresholds,
  fittingTtl,
  formatDuration,
  gateFloorMs,
  keepUpWarning,
  renewalGate,
  shortestLived,
  type Validity,
} from '../../src/rollover/lifetime.js';

const S = 1000;
const H = 3600 * S;
const D = 24 * H;
const T0 = Date.UTC(2026, 11, 1);
const valid = (lifetimeMs: number): Validity => ({ notBefore: T0, notAfter: T0 + lifetimeMs });
const SIX_DAYS = 160 * H; // Let's Encrypt's "shortlived" profile
const NINETY_DAYS = 90 * D;

// Lifetimes from 60 s to 400 days, TTLs from 1 s to 2 days, any moment from issuance to past expiry.
const lifetime = fc.integer({ min: 60 * S, max: 400 * D });
const ttl = fc.integer({ min: 1, max: 2 * 86_400 });

describe('renewalGate', () => {
  test('holds only while more than a third of the lifetime and more than 2 x TTL + 1 h are left', () => {
    fc.assert(
      fc.property(lifetime, ttl, fc.double({ min: -0.2, max: 1, noNaN: true }), fc.boolean(), (l, t, at, staged) => {
        const v = valid(l);
        const now = T0 + Math.floor(at * l);
        const left = v.notAfter - now;
        const d = renewalGate({ inService: v, now, ttl: t, staged });
        const mayHold = left > l / 3 && left > 2 * t * S + H;
        assert.equal(d.verdict, mayHold ? 'hold' : 'release', `left ${left} ms of ${l} ms, TTL ${t}`);
        if (d.verdict === 'hold') {
          // While it holds there is time for a new record to become ready before expiry.
          assert.ok(d.releaseAt! > now && d.releaseAt! <= v.notAfter - 2 * t * S - H);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('at releaseAt the gate lets the renewal through, one second before it still holds', () => {
    fc.assert(
      fc.property(lifetime, ttl, (l, t) => {
        const v = valid(l);
        const floor = gateFloorMs(v, t);
        fc.pre(floor < l - S);
        const first = renewalGate({ inService: v, now: T0, ttl: t, staged: true });
        assert.equal(first.verdict, 'hold');
        const releaseAt = (first as { releaseAt: number }).releaseAt;
        assert.equal(renewalGate({ inService: v, now: releaseAt, ttl: t, staged: true }).verdict, 'release');
        assert.equal(renewalGate({ inService: v, now: releaseAt - S, ttl: t, staged: true }).verdict, 'hold');
      }),
      { numRuns: 1000 },
    );
  });

  test('a 6-day certificate, TTL 3600: held at 80 h left (certbot 4 renews at half), let through at 53 h', () => {
    const v = valid(SIX_DAYS);
    assert.equal(renewalGate({ inService: v, now: v.notAfter - 80 * H, ttl: 3600, staged: false }).verdict, 'hold');
    const d = renewalGate({ inService: v, now: v.notAfter - 53 * H, ttl: 3600, staged: false });
    assert.equal(d.verdict, 'release');
    assert.match((d as { warning: string }).warning, /only 2 d 5 h left .*more than 2 d 5 h is left \(the larger of a third of its 6 d 16 h lifetime and 2 x TTL 3600 s \+ 1 h\)/);
    assert.match((d as { warning: string }).warning, /goes live at once .*exit 4/);
  });

  test('a 90-day certificate: held with 31 days left (acme.sh renews after 59 days), let through at 29', () => {
    const v = valid(NINETY_DAYS);
    assert.equal(renewalGate({ inService: v, now: v.notAfter - 31 * D, ttl: 3600, staged: true }).verdict, 'hold');
    const d = renewalGate({ inService: v, now: v.notAfter - 29 * D, ttl: 3600, staged: true });
    assert.equal(d.verdict, 'release');
    assert.match((d as { warning: string }).warning, /staged mode keeps the current certificate in service/);
  });

  test('300-second certificates with TTL 60 are never held: 2 x TTL + 1 h is more than their lifetime', () => {
    const v = valid(300 * S);
    assert.equal(renewalGate({ inService: v, now: T0, ttl: 60, staged: true }).verdict, 'release');
  });

  test('an expired certificate in service: let through, and the warning says it expired', () => {
    const v = valid(SIX_DAYS);
    const d = renewalGate({ inService: v, now: v.notAfter + 2 * H, ttl: 60, staged: true });
    assert.equal(d.verdict, 'release');
    assert.match((d as { warning: string }).warning, /expired 2 h ago/);
  });

  test('no certificate in service: holding cannot make one expire, so it holds', () => {
    const d = renewalGate({ now: T0, ttl: 60, staged: false });
    assert.equal(d.verdict, 'hold');
    assert.equal((d as { releaseAt?: number }).releaseAt, undefined);
  });
});

describe('keepUpWarning', () => {
  test('warns exactly when 2 x max(TTL, negative TTL) exceeds a quarter of the lifetime', () => {
    fc.assert(
      fc.property(lifetime, ttl, fc.integer({ min: 0, max: 86_400 }), (l, t, neg) => {
        const w = keepUpWarning({ validity: valid(l), ttl: t, negativeTtl: neg });
        assert.equal(w !== undefined, 2 * Math.max(t, neg) * S > l / 4);
      }),
      { numRuns: 2000 },
    );
  });

  test('the TTL it names fits, one second more does not', () => {
    fc.assert(
      fc.property(lifetime, (l) => {
        const fit = fittingTtl(l);
        fc.pre(fit >= 1);
        assert.equal(keepUpWarning({ validity: valid(l), ttl: fit, negativeTtl: fit }), undefined);
        assert.notEqual(keepUpWarning({ validity: valid(l), ttl: fit + 1, negativeTtl: 0 }), undefined);
      }),
      { numRuns: 1000 },
    );
  });

  test('300-second certificates with TTL 60: the numbers and a TTL of 37 s', () => {
    const w = keepUpWarning({ validity: valid(300 * S), ttl: 60, negativeTtl: 30 });
    assert.equal(
      w,
      "rollover cannot keep up: a new record is ready 2 x TTL 60 s = 2 min after it is published, more than a quarter (1 min 15 s) of the certificate's 5 min lifetime; lower the TTL to 37 s or less, or use a stable key (certbot --reuse-key)",
    );
  });

  test('a negative TTL larger than the TTL is named as the cause', () => {
    const w = keepUpWarning({ validity: valid(SIX_DAYS), ttl: 3600, negativeTtl: 86_400 });
    assert.match(w!, /2 x the negative TTL 86400 s \(SOA minimum; TTL 3600 s\) = 2 d .*6 d 16 h lifetime; lower the zone's negative TTL \(SOA minimum\) to 72000 s or less/);
  });

  test('6-day certificates with TTL 3600, and 90-day ones with a day-long TTL, keep up', () => {
    assert.equal(keepUpWarning({ validity: valid(SIX_DAYS), ttl: 3600, negativeTtl: 3600 }), undefined);
    assert.equal(keepUpWarning({ validity: valid(NINETY_DAYS), ttl: 86_400, negativeTtl: 86_400 }), undefined);
  });

  test('a lifetime so short that no TTL fits says to use a stable key', () => {
    assert.match(keepUpWarning({ validity: valid(4 * S), ttl: 1, negativeTtl: 0 })!, /no TTL fits: use a stable key/);
  });
});

describe('expiryThresholds', () => {
  test('defaults: 90-day certificates keep 14/3 days, 6-day ones get 32 h / 10 h 40 min', () => {
    assert.deepEqual(expiryThresholds(NINETY_DAYS, {}), { warnDays: 14, critDays: 3 });
    const six = expiryThresholds(SIX_DAYS, {});
    assert.equal(formatDuration(six.warnDays * D), '1 d 8 h');
    assert.equal(formatDuration(six.critDays * D), '10 h 40 min');
    // 45-day certificates (2028's default): 9 days / 3 days.
    assert.deepEqual(expiryThresholds(45 * D, {}), { warnDays: 9, critDays: 3 });
  });

  test('a fresh certificate of any lifetime is not WARNING; crit <= warn <= 14 days; given flags win', () => {
    fc.assert(
      fc.property(lifetime, fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: undefined }), fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: undefined }), (l, w, c) => {
        fc.pre(w === undefined || c === undefined || c <= w);
        const t = expiryThresholds(l, { warnDays: w, critDays: c });
        if (w !== undefined) assert.equal(t.warnDays, w);
        if (c !== undefined) assert.equal(t.critDays, c);
        assert.ok(t.critDays <= t.warnDays, `crit ${t.critDays} > warn ${t.warnDays}`);
        if (w === undefined && c === undefined) {
          assert.ok(t.warnDays <= EXPIRY_DEFAULTS.warn.days && t.critDays <= EXPIRY_DEFAULTS.crit.days);
          assert.ok(t.warnDays * D < l, 'a certificate just issued is above the warning threshold');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('only --warn-days given: crit stays below it; only --crit-days: warn stays above it', () => {
    assert.deepEqual(expiryThresholds(NINETY_DAYS, { warnDays: 5 }), { warnDays: 5, critDays: 3 });
    assert.deepEqual(expiryThresholds(SIX_DAYS, { warnDays: 0.25 }), { warnDays: 0.25, critDays: 0.25 });
    assert.deepEqual(expiryThresholds(SIX_DAYS, { critDays: 2 }), { warnDays: 2, critDays: 2 });
  });
});

test('shortestLived: the chain with the shortest known lifetime; chains without both dates do not count', () => {
  assert.equal(shortestLived([undefined, { notAfter: T0 }]), undefined);
  assert.deepEqual(shortestLived([valid(NINETY_DAYS), { notBefore: T0 }, valid(SIX_DAYS), undefined]), valid(SIX_DAYS));
});

test('formatDuration: two units at most, rounded to seconds', () => {
  assert.equal(formatDuration(SIX_DAYS), '6 d 16 h');
  assert.equal(formatDuration(3 * D + 5 * 60 * S), '3 d');
  assert.equal(formatDuration(75 * S), '1 min 15 s');
  assert.equal(formatDuration(400), '0 s');
  assert.equal(formatDuration(-2 * H), '-2 h');
});

test('the core calls a chain close to expiry at check\'s WARNING threshold (one policy)', () => {
  const D = 24 * H;
  const chain = (days: number) => ({ id: 'x', records: [], notBefore: 0, notAfter: days * D });
  for (const days of [6, 10, 45, 90, 397]) {
    assert.equal(defaultLifetimePolicy.warnBeforeMs(chain(days)), expiryThresholds(days * D, {}).warnDays * D, `${days}-day certificate`);
  }
  assert.equal(defaultLifetimePolicy.warnBeforeMs(chain(6)), 1.2 * D, 'a fifth of six days');
  assert.equal(defaultLifetimePolicy.warnBeforeMs(chain(90)), 14 * D, 'at most two weeks');
  assert.equal(defaultLifetimePolicy.warnBeforeMs({ id: 'x', records: [] }), 14 * D, 'unknown lifetime: two weeks');
});
