// acme.sh is not packaged for Debian, so acme.sh itself cannot run here. What can be tested for
// real is its contract with dane-hook: the shipped hooks/acme.sh/reload and hooks/acme.sh/pre run
// with exactly the environment acme.sh gives --reloadcmd and --pre-hook (src/acme/acmesh.ts), in
// an ~/.acme.sh/<domain>_ecc layout holding real certificates from pebble (via certbot --csr for
// the key acme.sh would have used), against the real DNS stack and DANE probe.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import { openssl } from '../support/pki.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOOKS, HOST, sleep, spkiHash, startStack, type Stack } from './stack.js';

describe('e2e: acme.sh contract (acme.sh not packaged: hook env simulated)', () => {
  let s: Stack;
  let cb: Certbot;
  let domainPath: string;
  const p = (f: string) => join(domainPath, f);
  const keyFile = () => p(`${HOST}.key`);
  const readText = (f: string) => readFile(f, 'utf8');

  /** What acme.sh's issue step leaves in DOMAIN_PATH: a certificate for the current key from pebble. */
  const issue = async (tag: string) => {
    const csr = join(s.dir, `${tag}.csr.der`);
    await openssl(['req', '-new', '-key', keyFile(), '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-outform', 'DER', '-out', csr]);
    const out = join(s.dir, `issued-${tag}`);
    await mkdir(out);
    const r = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '--csr', csr, '--cert-path', join(out, 'cert.pem'), '--chain-path', join(out, 'chain.pem'), '--fullchain-path', join(out, 'fullchain.pem')]);
    assertHookClean(r, cb.log());
    await copyFile(join(out, 'cert.pem'), p(`${HOST}.cer`));
    await copyFile(join(out, 'chain.pem'), p('ca.cer'));
    await copyFile(join(out, 'fullchain.pem'), p('fullchain.cer'));
  };
  const genKey = (file: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(s.dir, 'home'), ...s.hookEnv });
  /** acme.sh --reloadcmd: run from DOMAIN_PATH with these variables (and no others of acme.sh's). */
  const reloadcmd = () =>
    execa(join(HOOKS, 'acme.sh', 'reload'), [], {
      cwd: domainPath, reject: false, stdin: 'ignore', extendEnv: false,
      env: {
        ...baseEnv(), CERT_PATH: p(`${HOST}.cer`), CERT_KEY_PATH: keyFile(), CA_CERT_PATH: p('ca.cer'), CERT_FULLCHAIN_PATH: p('fullchain.cer'),
        Le_Domain: HOST, Le_ForceNewDomainKey: '1', Le_Next_Domain_Key: `${keyFile()}.next`,
      },
    });
  /** acme.sh --pre-hook: Le_Domain, Le_Alt, DOMAIN_PATH; a non-zero exit skips the renewal. */
  const preHook = () =>
    execa(join(HOOKS, 'acme.sh', 'pre'), [], { reject: false, stdin: 'ignore', extendEnv: false, env: { ...baseEnv(), Le_Domain: HOST, Le_Alt: 'no', DOMAIN_PATH: domainPath } });

  before(async () => {
    s = await startStack('acmesh');
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
    domainPath = join(s.dir, 'home', '.acme.sh', `${HOST}_ecc`);
    await mkdir(domainPath, { recursive: true });
  });
  after(async () => s?.stop());

  test('reloadcmd publishes the next key; pre-hook gates until it is ready; the renewal with it goes live at once', async () => {
    // First issue with --always-force-new-domain-key: the key, and the next one beside it.
    await genKey(keyFile());
    await issue('first');
    await genKey(`${keyFile()}.next`);
    const k0 = await spkiHash(p(`${HOST}.cer`));
    let next = await spkiHash(`${keyFile()}.next`, true);
    // The next key's record is published during this call, so it is ready no sooner than 2 x TTL after it started.
    const beforeFirst = Date.now();
    const first = await reloadcmd();
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(s.served.servedSpki(), k0);
    assert.deepEqual(await s.tlsa(), [...(await expectedRecords(p(`${HOST}.cer`), await readText(p('ca.cer')))), `3 1 1 ${next}`].sort());

    const probe = s.probe();
    const keys = [k0];
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      for (let round = 1; round <= 2; round++) {
        // The gate: exit 5 while the next key's record is not ready (acme.sh then skips this run).
        const codes: number[] = [];
        let firstDone = 0;
        for (let i = 0; i < 60; i++) {
          const r = await preHook();
          firstDone ||= Date.now();
          codes.push(r.exitCode ?? -1);
          if (r.exitCode === 0) break;
          assert.equal(r.exitCode, 5, `pre-hook: ${r.stderr}`);
          await sleep(250);
        }
        assert.equal(codes.at(-1), 0, `round ${round}: the gate opened: ${codes}`);
        // A pre-hook that finished before the record can have been ready (TTL 1: 2 s) must have held.
        if (round === 1 && firstDone - beforeFirst < 2000) assert.equal(codes[0], 5, 'closed right after the next key was published');

        // acme.sh renews with the next key, then keeps a new next key for the renewal after.
        await rename(`${keyFile()}.next`, keyFile());
        await issue(`renew-${round}`);
        await genKey(`${keyFile()}.next`);
        const reloads = s.served.reloads.length;
        const r = await reloadcmd();
        assert.equal(r.exitCode, 0, r.stderr);
        const now = await spkiHash(p(`${HOST}.cer`));
        assert.equal(now, next, 'renewed with the published next key');
        keys.push(now);
        assert.equal(s.served.reloads.length, reloads + 1, `round ${round}: live at once`);
        assert.equal(s.served.servedSpki(), now);
        next = await spkiHash(`${keyFile()}.next`, true);
        assert.deepEqual(await s.tlsa(), [...(await expectedRecords(p(`${HOST}.cer`), await readText(p('ca.cer')))), `3 1 1 ${next}`].sort(),
          `round ${round}: previous key withdrawn, the new next key published`);
        await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === now, 15_000, `round ${round}: the new chain verified`);
      }
    } finally {
      await assertProbeClean(probe, keys);
    }
  });

  test('an emptied .key.next (acme.sh empties a consumed one) is no error and publishes nothing', async () => {
    await rm(`${keyFile()}.next`);
    await execa('sh', ['-c', 'echo "" > "$1"', 'sh', `${keyFile()}.next`]);
    const before = await s.tlsa();
    const r = await reloadcmd();
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stderr, '');
    // Nothing new to publish; the previous next key is no longer announced by the client.
    for (const rec of await s.tlsa()) assert.ok(before.includes(rec), `nothing new published: ${rec}`);
  });

  test('near expiry the pre-hook lets a renewal through although the next key is not ready (warning), and staged mode keeps DANE safe', async () => {
    // Far from expiry (a 10-day certificate in service): a next key whose record is not ready holds the renewal.
    await genKey(`${keyFile()}.next`);
    const held = await preHook();
    assert.equal(held.exitCode, 5, `held: ${held.stderr}`);

    // The CA now issues short-lived certificates (pebble restarted: 10 minutes, a new intermediate);
    // acme.sh renews with the key in service, and that certificate goes into service.
    await s.restartPebble({ validitySeconds: 600 });
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot-short'));
    await issue('short-lived');
    const short = await spkiHash(p(`${HOST}.cer`));
    const deployed = await reloadcmd();
    assert.equal(deployed.exitCode, 0, deployed.stderr);
    const settled = await s.cli(['advance', '--config', s.config, '--wait', '--max-wait', '30'], 45_000);
    assert.equal(settled.exitCode, 0, settled.stderr);
    const serial = async (f: string) => (await openssl(['x509', '-in', f, '-noout', '-serial'])).toString().trim();
    assert.equal(await serial(join(s.activeDir, 'cert.pem')), await serial(p(`${HOST}.cer`)), 'the 10-minute certificate is in service');

    const probe = s.probe();
    const keys = [short];
    try {
      await probe.waitFor((c) => c.kind === 'ok', 15_000, 'a verified handshake');
      // A new next key: its record cannot be ready within this run. The certificate in service has
      // less than 2 x TTL + 1 h left, so holding could only make it expire: the gate lets it through.
      await genKey(`${keyFile()}.next`);
      const next = await spkiHash(`${keyFile()}.next`, true);
      const gate = await preHook();
      assert.equal(gate.exitCode, 0, `let through: ${gate.stderr}`);
      assert.match(gate.stderr, /renewal let through although the next key's record is not ready: the certificate in service has only \d+ min( \d+ s)? left/);
      assert.match(gate.stderr, /staged mode keeps the current certificate in service until the new records are ready/);
      assert.ok((await s.tlsa()).includes(`3 1 1 ${next}`), 'the next key published by the pre-hook');

      // acme.sh renews with the next key; the new chain goes into service once its record is ready.
      await rename(`${keyFile()}.next`, keyFile());
      await issue('short-lived-renewal');
      const r = await reloadcmd();
      assert.equal(r.exitCode, 0, r.stderr);
      const adv = await s.cli(['advance', '--config', s.config, '--wait', '--max-wait', '30'], 45_000);
      assert.equal(adv.exitCode, 0, adv.stderr);
      assert.equal(s.served.servedSpki(), next, 'renewed with the next key, in service');
      keys.push(next);
      assert.deepEqual(await s.tlsa(), await expectedRecords(p(`${HOST}.cer`), await readText(p('ca.cer'))), 'the previous key and issuer withdrawn');
      await probe.waitFor((c) => c.kind === 'ok' && c.servedSpki === next, 15_000, 'the renewed chain verified');
    } finally {
      await assertProbeClean(probe, keys);
    }
  });
});
