// An issuer change end to end: pebble makes a new root and intermediate at every start, so a
// restarted pebble is a CA that rotated its intermediate. certbot runs dane-hook through the
// shipped shim (hooks/certbot/deploy, settings from a config file); a fresh certbot config dir
// makes a new lineage, and the same service (TLSA name, state dir) follows: the 2 1 1 moves to the
// new intermediate without a single failed DANE check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags } from '../support/pebble.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOOKS, HOST, sleep, spkiHash, spkiHashOfPem, startStack, type Stack } from './stack.js';

describe('e2e: pebble restarted (a new root and intermediate), certbot via the shipped deploy shim', () => {
  let s: Stack;
  before(async () => {
    s = await startStack('restart');
  });
  after(async () => s?.stop());

  test('the 2 1 1 follows the new intermediate and the new key is held until ready: the probe never fails', async () => {
    const shim = join(HOOKS, 'certbot', 'deploy');
    const cb1 = await certbotFor(s.pebble, join(s.dir, 'certbot-1'));
    const issued = await cb1.run(['certonly', ...certbotIssueFlags(cb1.webroot), '-d', HOST, '--deploy-hook', shim], s.hookEnv);
    assertHookClean(issued, cb1.log());
    const oldCert = join(cb1.live(HOST), 'cert.pem');
    const oldIssuer = await s.pebble.intermediatePem();
    const k0 = await spkiHash(oldCert);
    assert.equal(s.served.servedSpki(), k0);
    assert.deepEqual(await s.tlsa(), await expectedRecords(oldCert, oldIssuer), "2 1 1 of pebble's own intermediate");
    const settle = await s.cli(['advance', '--config', s.config, '--wait', '--max-wait', '30'], 45_000);
    assert.equal(settle.exitCode, 0, settle.stderr);

    const probe = s.probe();
    const keys = [k0];
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      await s.restartPebble();
      const newIssuer = await s.pebble.intermediatePem();
      assert.notEqual(await spkiHashOfPem(newIssuer), await spkiHashOfPem(oldIssuer), 'pebble made a new intermediate');
      // pebble keeps no accounts or orders: a new certbot config dir, so a new lineage directory.
      const cb2 = await certbotFor(s.pebble, join(s.dir, 'certbot-2'));
      const again = await cb2.run(['certonly', ...certbotIssueFlags(cb2.webroot), '-d', HOST, '--deploy-hook', shim], s.hookEnv);
      assertHookClean(again, cb2.log());
      const cert = join(cb2.live(HOST), 'cert.pem');
      const k1 = await spkiHash(cert);
      keys.push(k1);
      assert.equal(s.served.servedSpki(), k0, 'neither new record is ready: the old chain stays');
      const during = await s.tlsa();
      for (const r of [...(await expectedRecords(oldCert, oldIssuer)), ...(await expectedRecords(cert, newIssuer))]) {
        assert.ok(during.includes(r), `${r.slice(0, 20)} published: ${during.join(', ')}`);
      }
      await sleep(400);
      const adv = await s.cli(['advance', '--config', s.config, '--wait', '--max-wait', '30'], 45_000);
      assert.equal(adv.exitCode, 0, adv.stderr);
      assert.equal(s.served.servedSpki(), k1, 'promoted');
      assert.deepEqual(await s.tlsa(), await expectedRecords(cert, newIssuer), 'old 3 1 1 and old 2 1 1 withdrawn');
      // certbot's chain.pem is what was served and pinned: the same intermediate pebble reports.
      assert.equal(await spkiHashOfPem(await readFile(join(cb2.live(HOST), 'chain.pem'), 'utf8')), await spkiHashOfPem(newIssuer));
      // Once caches expire, the resolver returns only the new pair, and it verifies.
      await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === k1 && c.records.length === 2, 15_000, 'the new chain verified by the new pair alone');
    } finally {
      await assertProbeClean(probe, keys);
    }
  });
});
