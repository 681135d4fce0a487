// The real-BIND harness itself: a signed zone comes up served with RRSIGs, a secondary follows
// the primary by NOTIFY/AXFR, and can be held back to lag.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { startBind, type BindServer } from '../support/bind.js';

describe('startBind (real named)', () => {
  let bind: BindServer;
  before(async () => {
    bind = await startBind({ secondary: true, ttl: 1 });
  });
  after(async () => bind?.stop());

  test('serves the signed zone with RRSIG at the primary and at the secondary', async () => {
    for (const port of [bind.port, bind.secondaryPort!]) {
      const out = await bind.dig(['+norec', '+dnssec', 'SOA', bind.zone], port);
      assert.match(out, /status: NOERROR/);
      assert.match(out, /flags: qr aa/);
      assert.match(out, /\bRRSIG\s+SOA\b/);
    }
    assert.match(await bind.dig(['+short', 'DNSKEY', bind.zone]), /^257 3 13 /m);
  });

  test('the secondary gets a TSIG update made at the primary, and lags while held', async () => {
    const name = `_25._tcp.a.${bind.zone}`;
    const one = randomBytes(32).toString('hex');
    await bind.nsupdate([`update add ${name} 1 IN TLSA 3 1 1 ${one}`]);
    const deadline = Date.now() + 5000;
    let seen = '';
    while (Date.now() < deadline && !seen.includes(one.toUpperCase().slice(0, 20))) {
      seen = await bind.dig(['+short', '+split=0', 'TLSA', name], bind.secondaryPort);
    }
    assert.equal(seen.trim(), `3 1 1 ${one.toUpperCase()}`);

    await bind.holdSecondary();
    const two = randomBytes(32).toString('hex');
    await bind.nsupdate([`update add ${name} 1 IN TLSA 3 1 1 ${two}`]);
    await new Promise((r) => setTimeout(r, 1500)); // more than the refresh/retry times in the SOA
    assert.match(await bind.dig(['+short', '+split=0', 'TLSA', name]), new RegExp(two, 'i'));
    assert.doesNotMatch(await bind.dig(['+short', '+split=0', 'TLSA', name], bind.secondaryPort), new RegExp(two, 'i'));
    assert.ok((await bind.serial(bind.secondaryPort)) < (await bind.serial()));

    await bind.releaseSecondary();
    assert.match(await bind.dig(['+short', '+split=0', 'TLSA', name], bind.secondaryPort), new RegExp(two, 'i'));
  });
});

test('startBind: unsigned zone, two servers side by side, stop removes everything', async () => {
  const [a, b] = await Promise.all([startBind({ signed: false, zone: 'unsigned.test' }), startBind({ ttl: 1 })]);
  try {
    assert.notEqual(a.port, b.port);
    const out = await a.dig(['+norec', '+dnssec', 'SOA', 'unsigned.test.']);
    assert.match(out, /status: NOERROR/);
    assert.doesNotMatch(out, /RRSIG/);
    assert.match(await b.dig(['+norec', '+dnssec', 'SOA', 'example.test.']), /RRSIG\s+SOA/);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.equal(existsSync(a.dir), false);
  assert.equal(existsSync(b.dir), false);
  assert.match(await a.dig(['+tries=1', '+time=1', 'SOA', 'unsigned.test.']), /connection refused|timed out|no servers could be reached/);
});

test('startBind: a port taken by someone else is replaced by a free one (retry)', async () => {
  const squatter = createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', () => r()));
  const taken = squatter.address().port;
  try {
    const bind = await startBind({ port: taken, ttl: 1, signed: false });
    try {
      assert.notEqual(bind.port, taken);
      assert.match(await bind.dig(['+short', 'SOA', bind.zone]), /^ns1\.example\.test\. /);
    } finally {
      await bind.stop();
    }
  } finally {
    squatter.close();
  }
});
