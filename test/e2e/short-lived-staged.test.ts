// Renewals faster than 2 x TTL (issue 12's end-to-end case): pebble issues 300-second
// certificates, records are published with TTL 60 (a new 3 1 1 is ready 120 s after every server
// serves it), certbot renews at every run (every 25 s) with a new key each time, dane-hook keeps
// 3 1 1 only in staged mode, and `advance` runs every 10 s, for 8 minutes. Each renewal arrives
// before the previous one is ready: the rollover must still promote the newest ready chain, so
// the probe never finds an expired certificate in service and never a DANE failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import { describeFailures } from '../support/probe.js';
import { HOST, NAME, shellLine, sleep, spkiHash, startStack, type Stack } from './stack.js';

const VALIDITY = 300;
const TTL = 60;
const RENEW_EVERY_MS = 25_000;
const ADVANCE_EVERY_MS = 10_000;
const DURATION_MS = 8 * 60_000;

describe('e2e: 300-second certificates, TTL 60, certbot renewing every 25 s with a new key, staged mode, 3 1 1 only', () => {
  let s: Stack;
  let cb: Certbot;
  before(async () => {
    s = await startStack('short-staged', { pebble: { validitySeconds: VALIDITY } });
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
  });
  after(async () => s?.stop());

  test('for 8 minutes the probe never sees an expired certificate in service nor a DANE failure', { timeout: DURATION_MS + 5 * 60_000 }, async () => {
    const flags = ['--tlsa-name', NAME, '--ttl', String(TTL), '--records', '3 1 1', '--dns', 'nsupdate', '--server', s.bind.address, '--tsig-key', s.bind.tsigKeyFile,
      '--state-dir', s.stateDir, '--activate-dir', s.activeDir, '--reload', s.served.reloadCommand];
    const hook = shellLine([s.daneHook, 'deploy', '--quiet', ...flags]);
    const issued = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '-d', HOST, '--deploy-hook', hook]);
    assert.equal(issued.exitCode, 0, `${issued.stderr}\n${cb.log()}`);
    const cert = join(cb.live(HOST), 'cert.pem');
    const first = await spkiHash(cert);
    assert.equal(s.served.servedSpki(), first, 'the first deploy goes live at once');

    const probe = s.probe();
    const renewals: { at: number; code: number; spki: string; stderr: string }[] = [];
    const advances: { at: number; code: number; stderr: string }[] = [];
    const end = Date.now() + DURATION_MS;
    const renewLoop = async () => {
      while (Date.now() < end) {
        const started = Date.now();
        // Debian's certbot renews a 300 s certificate at every run: no --force-renewal needed.
        const r = await cb.run(['renew', '--no-random-sleep-on-renew']);
        renewals.push({ at: started, code: r.exitCode, spki: await spkiHash(cert), stderr: r.stderr });
        await sleep(Math.max(0, started + RENEW_EVERY_MS - Date.now()));
      }
    };
    const advanceLoop = async () => {
      while (Date.now() < end) {
        const started = Date.now();
        const r = await s.cli(['advance', '--state-dir', s.stateDir], 60_000);
        advances.push({ at: started, code: r.exitCode, stderr: r.stderr });
        await sleep(Math.max(0, started + ADVANCE_EVERY_MS - Date.now()));
      }
    };
    let checks;
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      await Promise.all([renewLoop(), advanceLoop()]);
    } finally {
      checks = await probe.stop();
    }

    const summary = () =>
      [
        `renewals: ${renewals.map((r) => `${new Date(r.at).toISOString().slice(11, 19)} exit ${r.code} ${r.spki.slice(0, 8)}`).join(', ')}`,
        `advances: ${advances.map((a) => `${new Date(a.at).toISOString().slice(11, 19)} exit ${a.code}`).join(', ')}`,
        `reloads: ${s.served.reloads.map((r) => `${new Date(r.at).toISOString().slice(11, 19)} ${r.spki.slice(0, 8)}`).join(', ')}`,
        `advance stderr: ${[...new Set(advances.map((a) => a.stderr.trim()).filter(Boolean))].slice(0, 5).join(' | ')}`,
      ].join('\n');
    assert.ok(renewals.length >= 12, `certbot renewed about every 25 s: ${renewals.length} runs\n${summary()}`);
    for (const r of renewals) assert.equal(r.code, 0, `certbot renew: ${r.stderr}`);
    assert.ok(new Set(renewals.map((r) => r.spki)).size === renewals.length, 'a new key at every renewal');
    assert.ok(advances.length >= 30, `advance ran about every 10 s: ${advances.length} runs`);
    for (const a of advances) assert.ok(a.code === 0, `advance exit ${a.code} at ${new Date(a.at).toISOString()}: ${a.stderr}\n${summary()}`);

    // The probe: never an expired certificate in service, never a failed DANE check.
    const expired = checks.filter((c) => c.servedNotAfter !== undefined && c.doneAt !== undefined && c.servedNotAfter <= c.doneAt);
    assert.deepEqual(
      expired.slice(0, 5).map((c) => `${new Date(c.doneAt!).toISOString()} served ${c.servedSpki?.slice(0, 8)} expired at ${new Date(c.servedNotAfter!).toISOString()}`),
      [],
      `the certificate in service expired\n${summary()}`,
    );
    assert.deepEqual(probe.failures().map((c) => c.kind), [], `${describeFailures(checks)}\n${summary()}`);
    // Renewed chains kept going into service: each certificate served lived at most its 300 s.
    const served = new Set(checks.filter((c) => c.kind === 'ok').map((c) => c.servedSpki));
    assert.ok(served.size >= DURATION_MS / (VALIDITY * 1000) + 1, `the probe verified ${served.size} different keys in service\n${summary()}`);
    // The probe watched the whole time: no long gap between two checks (the machine may be slow).
    const gaps = checks.slice(1).map((c, i) => c.at - checks[i]!.at);
    assert.ok(Math.max(...gaps) < 20_000, `the probe kept checking: ${checks.length} checks, longest gap ${Math.max(...gaps)} ms`);
    assert.ok(checks.at(-1)!.at - checks[0]!.at > DURATION_MS - 30_000, 'for the whole 8 minutes');

    // Said up front, once per run: 2 x TTL (120 s) is more than a quarter of the 300 s lifetime.
    for (const a of advances) {
      assert.equal(a.stderr.match(/rollover cannot keep up/g)?.length, 1, `advance at ${new Date(a.at).toISOString()}: ${a.stderr}`);
    }
    assert.match(advances[0]!.stderr, /2 x TTL 60 s = 2 min .*(4 min 59 s|5 min) lifetime; lower the TTL to 37 s or less/);
  });
});
