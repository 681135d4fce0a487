// certbot against pebble with a key chosen ahead: --reuse-key (a stable key: the 3 1 1 never
// changes) and a next key published by pre-renew, then issued for with certonly --csr (certbot's
// only way to take a given key) and deployed by hand. Both go live at once, no failed DANE check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import { openssl } from '../support/pki.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOST, shellLine, sleep, spkiHash, startStack, type Stack } from './stack.js';

describe('e2e: certbot with a next key (pre-renew, certonly --csr) and with --reuse-key', () => {
  let s: Stack;
  let cb: Certbot;
  before(async () => {
    s = await startStack('certbot-next');
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
  });
  after(async () => s?.stop());

  test('renew --reuse-key keeps the 3 1 1 and goes live at once; a published next key goes live at once via --csr; the probe never fails', async () => {
    const hook = shellLine([s.daneHook, 'deploy', '--quiet', ...s.flags()]);
    const issued = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '-d', HOST, '--reuse-key', '--deploy-hook', hook]);
    assertHookClean(issued, cb.log());
    const live = cb.live(HOST);
    const cert = join(live, 'cert.pem');
    const issuer = await readFile(join(live, 'chain.pem'), 'utf8');
    const k0 = await spkiHash(cert);
    assert.equal(s.served.servedSpki(), k0);
    // The first records become ready (2 x TTL after they are served everywhere).
    const settle = await s.cli(['advance', '--state-dir', s.stateDir, '--wait', '--max-wait', '30'], 45_000);
    assert.equal(settle.exitCode, 0, settle.stderr);
    const probe = s.probe();
    const keys = [k0];
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');

      // (a) --reuse-key: a new certificate, the same key: its records are the ready ones, so the
      // deploy hook puts it in service at once.
      const serial = async (f = cert) => (await openssl(['x509', '-in', f, '-noout', '-serial'])).toString().trim();
      const serialBefore = await serial();
      const before = await s.tlsa();
      const reloadsBefore = s.served.reloads.length;
      const renewed = await cb.run(['renew', '--force-renewal', '--no-random-sleep-on-renew']);
      assertHookClean(renewed, cb.log());
      assert.notEqual(await serial(), serialBefore, 'a new certificate');
      assert.equal(await spkiHash(cert), k0, 'the same key (reuse_key stored in the renewal config)');
      assert.deepEqual(await s.tlsa(), before, '3 1 1 and 2 1 1 unchanged');
      assert.equal(s.served.reloads.length, reloadsBefore + 1, 'the renewed certificate was put in service by the hook itself');
      assert.equal(await serial(join(s.activeDir, 'cert.pem')), await serial(), 'the renewed certificate is the one in service');

      // (b) A next key published ahead: pre-renew exits 5 until its record is ready, then 0.
      const nextKey = join(s.dir, 'next.key');
      const first = await s.cli(['pre-renew', ...s.flags(), '--next-key', nextKey, '--generate-next-key']);
      assert.equal(first.exitCode, 5, `not ready at once: ${first.stderr}`);
      const k1 = await spkiHash(nextKey, true);
      assert.ok((await s.tlsa()).includes(`3 1 1 ${k1}`), 'next key published');
      let code = 5;
      for (let i = 0; i < 40 && code === 5; i++) {
        await sleep(250);
        code = (await s.cli(['pre-renew', ...s.flags(), '--next-key', nextKey])).exitCode;
      }
      assert.equal(code, 0, 'the next key record became ready');

      // certbot can only take a given key as a CSR: certonly --csr writes plain files, no lineage.
      const csr = join(s.dir, 'next.csr.der');
      await openssl(['req', '-new', '-key', nextKey, '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-outform', 'DER', '-out', csr]);
      const out = (f: string) => join(s.dir, 'csr-out', f);
      const got = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '--csr', csr, '--cert-path', out('cert.pem'), '--chain-path', out('chain.pem'), '--fullchain-path', out('fullchain.pem')]);
      assertHookClean(got, cb.log());
      const reloads = s.served.reloads.length;
      const dep = await s.cli(['deploy', ...s.flags(), '--cert', out('cert.pem'), '--chain', out('chain.pem'), '--key', nextKey]);
      assert.equal(dep.exitCode, 0, dep.stderr);
      keys.push(k1);
      assert.equal(s.served.reloads.length, reloads + 1, 'live in the same run, no waiting');
      assert.equal(s.served.servedSpki(), k1);
      assert.deepEqual(await s.tlsa(), await expectedRecords(out('cert.pem'), issuer), 'the previous key withdrawn');
      await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === k1, 15_000, 'the next-key chain verified');
    } finally {
      await assertProbeClean(probe, keys);
    }
  });
});
