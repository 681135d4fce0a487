// Short-lived certificates with a stable key (certbot --reuse-key, the calm DANE setup for
// Let's Encrypt's 6-day profile): pebble issues 10-minute certificates, so Debian's certbot 2.x
// renews at every `certbot renew` (its 30-day window is longer than the lifetime), without
// --force-renewal. Across many renewals nothing changes in DNS (the zone's SOA serial stays put);
// when the CA changes its intermediate (pebble restarted), only the 2 1 1 follows it. The DANE
// probe verifies the served chain against the validating resolver's records the whole time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import { openssl } from '../support/pki.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOST, shellLine, spkiHash, spkiHashOfPem, startStack, type Stack } from './stack.js';

const VALIDITY = 600;
const RENEWALS = 5;

describe('e2e: short-lived certificates (10 min) with a stable key (certbot --reuse-key), renewed at every certbot run', () => {
  let s: Stack;
  let cb: Certbot;
  before(async () => {
    s = await startStack('short-stable', { pebble: { validitySeconds: VALIDITY } });
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
  });
  after(async () => s?.stop());

  test(`${RENEWALS} renewals change nothing in DNS; an issuer change moves only the 2 1 1; the probe never fails`, async () => {
    const hook = shellLine([s.daneHook, 'deploy', '--quiet', ...s.flags()]);
    const issued = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '-d', HOST, '--reuse-key', '--deploy-hook', hook]);
    assertHookClean(issued, cb.log());
    const live = cb.live(HOST);
    const cert = join(live, 'cert.pem');
    const serial = async (f: string) => (await openssl(['x509', '-in', f, '-noout', '-serial'])).toString().trim();
    const lifetime = async (f: string) => {
      const [from, to] = (await openssl(['x509', '-in', f, '-noout', '-startdate', '-enddate'])).toString().trim().split('\n').map((l) => Date.parse(l.replace(/^not\w+=/, '')));
      return (to! - from!) / 1000;
    };
    assert.ok(Math.abs((await lifetime(cert)) - VALIDITY) <= 1, `pebble issued a ${VALIDITY} s certificate`);
    const key = await spkiHash(cert);
    assert.equal(s.served.servedSpki(), key);
    const settle = await s.cli(['advance', '--state-dir', s.stateDir, '--wait', '--max-wait', '30'], 45_000);
    assert.equal(settle.exitCode, 0, settle.stderr);

    const probe = s.probe();
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      const records = await s.tlsa();
      assert.deepEqual(records, await expectedRecords(cert, await readFile(join(live, 'chain.pem'), 'utf8')));
      const soa = await s.bind.serial();

      /** One `certbot renew` (no --force-renewal): a new certificate, the same key, in service at once. */
      const renew = async (what: string, extra: string[] = []) => {
        const before = await serial(cert);
        const reloads = s.served.reloads.length;
        const r = await cb.run(['renew', '--no-random-sleep-on-renew', ...extra]);
        assertHookClean(r, cb.log());
        assert.notEqual(await serial(cert), before, `${what}: certbot renewed a certificate that is not due by its 30-day rule`);
        assert.equal(await spkiHash(cert), key, `${what}: the same key (reuse_key)`);
        return reloads;
      };

      for (let round = 1; round <= RENEWALS; round++) {
        const reloads = await renew(`renewal ${round}`);
        assert.equal(s.served.reloads.length, reloads + 1, `renewal ${round}: in service at once (the ready 3 1 1 and 2 1 1 match it)`);
        assert.equal(await serial(join(s.activeDir, 'cert.pem')), await serial(cert), `renewal ${round}: the renewed certificate is the one in service`);
        assert.deepEqual(await s.tlsa(), records, `renewal ${round}: TLSA records unchanged`);
        assert.equal(await s.bind.serial(), soa, `renewal ${round}: no DNS update at all (SOA serial unchanged)`);
      }

      // The CA moves to a new intermediate. pebble keeps no accounts: register with the new one
      // in the same config dir, and renew the same lineage (same key) through it.
      const oldIssuer = await spkiHashOfPem(await s.pebble.intermediatePem());
      await s.restartPebble();
      const newIssuer = await spkiHashOfPem(await s.pebble.intermediatePem());
      assert.notEqual(newIssuer, oldIssuer, 'pebble made a new intermediate');
      cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
      const reg = await cb.run(['register', '--agree-tos', '--register-unsafely-without-email']);
      assertHookClean(reg, cb.log());
      const accountsDir = join(cb.configDir, 'accounts', new URL(s.pebble.url).host, 'dir');
      const [account] = await readdir(accountsDir);
      assert.ok(account, `an account in ${accountsDir}`);
      await renew('issuer change', ['--account', account!]);
      const during = await s.tlsa();
      assert.ok(during.includes(`2 1 1 ${newIssuer}`), `the new intermediate's 2 1 1 is published: ${during.join(', ')}`);
      const adv = await s.cli(['advance', '--state-dir', s.stateDir, '--wait', '--max-wait', '30'], 45_000);
      assert.equal(adv.exitCode, 0, adv.stderr);
      assert.equal(await serial(join(s.activeDir, 'cert.pem')), await serial(cert), 'the certificate from the new intermediate is in service');
      const moved = [`2 1 1 ${newIssuer}`, `3 1 1 ${key}`].sort();
      assert.deepEqual(await s.tlsa(), moved, 'the 3 1 1 stays, the old 2 1 1 is withdrawn');
      await probe.waitFor((c) => c.kind === 'ok' && c.records.join() === moved.join(), 15_000, 'the chain verified with the moved 2 1 1');

      // Renewals from the new intermediate change nothing again.
      const soa2 = await s.bind.serial();
      for (let round = 1; round <= 2; round++) {
        await renew(`renewal ${round} after the issuer change`, ['--account', account!]);
        assert.deepEqual(await s.tlsa(), moved);
        assert.equal(await s.bind.serial(), soa2, 'no DNS update');
      }
    } finally {
      await assertProbeClean(probe, [key]);
    }
  });
});
