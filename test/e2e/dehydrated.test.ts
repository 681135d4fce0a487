// dehydrated (Debian 0.7.0) against pebble, with the shipped hooks/dehydrated/hook.sh as HOOK and
// PRIVATE_KEY_ROLLOVER=yes: at every issuance dehydrated keeps the key of the next one as
// privkey.roll.pem, dane-hook publishes its record at deploy_cert, and the next renewal (which
// moves that key into place) goes live at once with no failed DANE check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { requireTool } from '../support/tools.js';
import { assertProbeClean, expectedRecords, HOOKS, HOST, spkiHash, startStack, type Stack } from './stack.js';

describe('e2e: dehydrated with PRIVATE_KEY_ROLLOVER=yes and the shipped hook.sh', () => {
  let s: Stack;
  let config: string;
  let base: string;
  const dehydrated = async (args: string[]) => {
    const r = await execa(requireTool('dehydrated'), ['--config', config, ...args], { reject: false, stdin: 'ignore', env: s.hookEnv, all: true, timeout: 120_000 });
    assert.equal(r.exitCode, 0, `dehydrated ${args.join(' ')}: exit ${r.exitCode}\n${String(r.all).slice(-3000)}`);
    return String(r.all);
  };
  before(async () => {
    s = await startStack('dehydrated');
    base = join(s.dir, 'dehydrated');
    await mkdir(join(base, 'wellknown'), { recursive: true });
    config = join(base, 'config');
    await writeFile(config, [
      `CA="${s.pebble.url}"`,
      'CHALLENGETYPE="http-01"',
      `WELLKNOWN="${base}/wellknown"`,
      `BASEDIR="${base}"`,
      `HOOK="${join(HOOKS, 'dehydrated', 'hook.sh')}"`,
      'KEY_ALGO="prime256v1"',
      'PRIVATE_KEY_RENEW="yes"',
      'PRIVATE_KEY_ROLLOVER="yes"',
      // curl must trust pebble's listener certificate
      `CURL_OPTS="--cacert ${s.pebble.caBundle}"`,
      '',
    ].join('\n'));
    await dehydrated(['--register', '--accept-terms']);
  });
  after(async () => s?.stop());

  test('each renewal uses the published roll key and goes live at deploy_cert; the probe never fails', async () => {
    const certdir = join(base, 'certs', HOST);
    const f = (n: string) => join(certdir, n);
    await dehydrated(['--cron', '--domain', HOST]);
    const issuer = await readFile(f('chain.pem'), 'utf8');
    const keys = [await spkiHash(f('cert.pem'))];
    let roll = await spkiHash(f('privkey.roll.pem'), true);
    assert.equal(s.served.servedSpki(), keys[0], 'first certificate in service');
    assert.deepEqual(await s.tlsa(), [...(await expectedRecords(f('cert.pem'), issuer)), `3 1 1 ${roll}`].sort(), 'the roll key published at deploy_cert');

    const probe = s.probe();
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      for (let round = 1; round <= 2; round++) {
        // The roll key's record is ready once pre-renew (the gate) says so.
        const wait = await s.cli(['advance', '--config', s.config, '--wait', '--max-wait', '30'], 45_000);
        assert.equal(wait.exitCode, 0, wait.stderr);
        const gate = await s.cli(['pre-renew', '--config', s.config]);
        assert.equal(gate.exitCode, 0, `round ${round}: next key ready: ${gate.stderr}`);
        const reloads = s.served.reloads.length;
        await dehydrated(['--cron', '--force', '--domain', HOST]);
        const now = await spkiHash(f('cert.pem'));
        assert.equal(now, roll, `round ${round}: dehydrated moved the roll key into place`);
        keys.push(now);
        assert.equal(s.served.reloads.length, reloads + 1, `round ${round}: put in service by deploy_cert itself`);
        assert.equal(s.served.servedSpki(), now);
        roll = await spkiHash(f('privkey.roll.pem'), true);
        assert.notEqual(roll, now, 'a new roll key');
        assert.deepEqual(await s.tlsa(), [...(await expectedRecords(f('cert.pem'), issuer)), `3 1 1 ${roll}`].sort(),
          `round ${round}: previous key withdrawn, the new roll key published`);
        await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === now, 15_000, `round ${round}: the new chain verified`);
      }
    } finally {
      await assertProbeClean(probe, keys);
    }
  });
});
