// certbot (Debian's) against pebble with dane-hook as its deploy hook, BIND signing the zone and
// taking TSIG updates, a validating unbound, and a DANE probe verifying the served chain against
// the records the resolver returns, every ~200 ms, the whole time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOST, shellLine, sleep, spkiHash, startStack, type Stack } from './stack.js';

/** When dane-hook counts `record` (at NAME) as ready, from status --json (ms). */
async function recordReadyAt(s: Stack, record: string): Promise<number> {
  const st = await s.cli(['status', '--state-dir', s.stateDir, '--json']);
  assert.equal(st.exitCode, 0, st.stderr);
  const names: { records: { record: string; readyAt?: string }[] }[] = JSON.parse(st.stdout).services[0].names;
  const found = names.flatMap((n) => n.records).find((r) => r.record.toLowerCase() === record);
  assert.ok(found?.readyAt, `status shows no readyAt for ${record.slice(0, 20)}: ${st.stdout.slice(0, 800)}`);
  return Date.parse(found.readyAt);
}

/** The state file's history, for failure messages. */
async function history(s: Stack): Promise<string> {
  const st = await s.cli(['status', '--state-dir', s.stateDir]);
  return `${st.stdout}${st.stderr}`;
}

/**
 * certbot's default: a new key at every renewal. `records`: the record kinds dane-hook keeps.
 * Either way the renewed chain waits as pending until its new 3 1 1 is ready (the staged hold):
 * with 3 1 1 + 2 1 1 the ready 2 1 1 of the unchanged issuer matches the renewed chain, but a
 * DANE-EE-only client still holds cached 3 1 1 records naming the old key (RFC 7671 §8: every
 * combination on its own).
 */
function threeRenewals(title: string, records: string[] | undefined): void {
  describe(title, () => {
    let s: Stack;
    let cb: Certbot;
    before(async () => {
      s = await startStack('certbot');
      cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
    });
    after(async () => s?.stop());

    test('three forced renewals each held until advance --wait promotes it: the DANE probe never fails, stale records are withdrawn', async () => {
      const flags = [...s.flags(), ...(records ?? []).flatMap((r) => ['--records', r])];
      const hook = shellLine([s.daneHook, 'deploy', '--quiet', ...flags]);
      const issued = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '-d', HOST, '--deploy-hook', hook]);
      assertHookClean(issued, cb.log());
      const live = cb.live(HOST);
      const cert = join(live, 'cert.pem');
      const issuer = await readFile(join(live, 'chain.pem'), 'utf8');
      const want = async () => (await expectedRecords(cert, issuer)).filter((r) => records === undefined || records.some((k) => r.startsWith(`${k} `)));
      // First deploy: nothing was served before, so the chain goes live at once.
      assert.equal(s.served.servedSpki(), await spkiHash(cert), 'first certificate served');
      assert.deepEqual(await s.tlsa(), await want());
      // Let the first records become ready, so every round starts from the same state.
      const settle = await s.cli(['advance', '--state-dir', s.stateDir, '--wait', '--max-wait', '30'], 45_000);
      assert.equal(settle.exitCode, 0, settle.stderr);

      const probe = s.probe();
      // A DANE-EE-only client beside it: the ready 2 1 1 must not carry a new key for it.
      const eeOnly = s.probe(['3']);
      const keys = [await spkiHash(cert)];
      try {
        await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
        await eeOnly.waitFor((c) => c.kind === 'ok', 15_000, 'a verified DANE-EE handshake');
        for (let round = 1; round <= 3; round++) {
          const old = keys.at(-1)!;
          let readyAt = 0;
          const renewed = await cb.run(['renew', '--force-renewal', '--no-random-sleep-on-renew']);
          assertHookClean(renewed, cb.log());
          const now = await spkiHash(cert);
          assert.notEqual(now, old, `round ${round}: certbot made a new key`);
          keys.push(now);
          const during = await s.tlsa();
          assert.ok(during.includes(`3 1 1 ${now}`), `round ${round}: new record published: ${during.join(', ')}`);
          assert.equal(s.served.servedSpki(), old, `round ${round}: the old chain stays in service until the new record is ready\n${await history(s)}`);
          assert.ok(during.includes(`3 1 1 ${old}`), `round ${round}: old record kept while pending`);
          readyAt = await recordReadyAt(s, `3 1 1 ${now}`);
          // Let the probe look at the in-between state a few times before promoting.
          await sleep(400);
          const early = await s.cli(['advance', '--state-dir', s.stateDir]);
          assert.equal(early.exitCode, 0, early.stderr);
          if (Date.now() < readyAt) assert.equal(s.served.servedSpki(), old, `round ${round}: advance before the wait is over promotes nothing`);
          const adv = await s.cli(['advance', '--state-dir', s.stateDir, '--wait', '--max-wait', '30'], 45_000);
          assert.equal(adv.exitCode, 0, adv.stderr);
          assert.equal(s.served.servedSpki(), now, `round ${round}: in service`);
          const reload = s.served.reloads.find((r) => r.spki === now)!;
          assert.ok(reload.at >= readyAt, `round ${round}: put in service ${readyAt - reload.at} ms before its 3 1 1 was ready`);
          assert.deepEqual(await s.tlsa(), await want(), `round ${round}: only the current records remain`);
          await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === now, 15_000, `round ${round}: the new chain verified`);
        }
      } finally {
        // Both stop before either verdict is thrown, so no probe outlives the test.
        const verdicts = await Promise.allSettled([assertProbeClean(probe, keys), assertProbeClean(eeOnly, keys)]);
        for (const v of verdicts) if (v.status === 'rejected') throw v.reason;
      }
      // One reload per chain, in order: nothing went live twice or out of turn.
      assert.deepEqual(s.served.reloads.map((r) => r.spki), keys);
      const status = await s.cli(['status', '--state-dir', s.stateDir, '--json']);
      assert.equal(status.exitCode, 0, status.stderr);
      const svc = JSON.parse(status.stdout).services[0];
      assert.equal(svc.pending ?? undefined, undefined, 'nothing pending at the end');
    });
  });
}

threeRenewals('e2e: certbot (a new key at every renewal), dane-hook deploy hook, staged mode, 3 1 1 only', ['3 1 1']);
threeRenewals('e2e: certbot (a new key at every renewal), dane-hook deploy hook, staged mode, 3 1 1 + 2 1 1', undefined);
