// Two certbot lineages for one name, one per key type (--key-type rsa, --key-type ecdsa), kept by
// ONE dane-hook service with `lineages: [...]` (issue 11): the shipped certbot hook shims, named
// (signed, TSIG updates), a validating unbound, pebble, and `openssl s_server -cert RSA -dcert
// ECDSA` serving activateDir/rsa and activateDir/ecdsa, with `connect` set (each lineage's chain is
// verified live with its own key type before its stale records go). Two DANE clients run the whole
// time: one that can only verify RSA signatures and one that can only verify ECDSA ones, so the
// server answers each with one certificate; neither may ever fail. Renewals: rsa, ecdsa, rsa,
// ecdsa, then one certbot run renewing both, promoted together with one reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certbotFor, certbotIssueFlags, type Certbot } from '../support/pebble.js';
import type { Probe } from '../support/probe.js';
import { assertHookClean, assertProbeClean, expectedRecords, HOOKS, HOST, NAME, sleep, spkiHash, startStack, type Stack } from './stack.js';

/** Not 1 s: on a loaded machine TTL-1 tests flaked. A new record is ready 2 x TTL after it is served. */
const TTL = 2;
const RSA_ONLY = ['-sigalgs', 'RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:RSA+SHA256:RSA+SHA384:RSA+SHA512'];
const ECDSA_ONLY = ['-sigalgs', 'ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512'];
const LINEAGES = ['rsa', 'ecdsa'] as const;
type Lineage = (typeof LINEAGES)[number];

describe('e2e: certbot with an RSA and an ECDSA lineage for one name, one dane-hook service with lineages, staged, connect set', () => {
  let s: Stack;
  let cb: Certbot;
  let env: Record<string, string>;
  before(async () => {
    s = await startStack('lineages', { ttl: TTL, lineages: true });
    cb = await certbotFor(s.pebble, join(s.dir, 'certbot'));
    await writeFile(s.config, JSON.stringify({
      stateDir: s.stateDir,
      dns: { backend: 'nsupdate', server: s.bind.address, tsigKey: s.bind.tsigKeyFile },
      services: [{
        id: 'mx', tlsaNames: [NAME], ttl: TTL, activateDir: s.activeDir, reload: s.served.reloadCommand,
        connect: `127.0.0.1:${s.served.port}`, starttls: 'none',
        lineages: LINEAGES.map((keyType) => ({ keyType, lineage: cb.live(`mx-${keyType}`) })),
      }],
    }, null, 2));
    env = s.hookEnv;
  });
  after(async () => s?.stop());

  const hooks = ['--deploy-hook', join(HOOKS, 'certbot', 'deploy'), '--pre-hook', join(HOOKS, 'certbot', 'pre')];
  const cert = (l: Lineage) => join(cb.live(`mx-${l}`), 'cert.pem');
  /** Every record the two current chains need: 3 1 1 of each key, 2 1 1 of each issuer (by openssl). */
  const want = async () => {
    const all = await Promise.all(LINEAGES.map(async (l) => expectedRecords(cert(l), await readFile(join(cb.live(`mx-${l}`), 'chain.pem'), 'utf8'))));
    return [...new Set(all.flat())].sort();
  };
  const advance = async (wait: boolean) => {
    const r = await s.cli(['advance', '--config', s.config, ...(wait ? ['--wait', '--max-wait', '30'] : [])], 45_000);
    assert.equal(r.exitCode, 0, `advance: ${r.stderr}\n${await status()}`);
  };
  const status = async () => {
    const st = await s.cli(['status', '--config', s.config]);
    return `${st.stdout}${st.stderr}`;
  };
  /** When dane-hook counts `record` as ready (status --json, any lineage's view). */
  const readyAt = async (record: string): Promise<number> => {
    const st = await s.cli(['status', '--config', s.config, '--json']);
    assert.equal(st.exitCode, 0, st.stderr);
    const services: { service: string; names: { records: { record: string; readyAt?: string }[] }[] }[] = JSON.parse(st.stdout).services;
    assert.deepEqual(services.map((v) => v.service), ['mx/rsa', 'mx/ecdsa'], 'status shows each lineage');
    const found = services.flatMap((v) => v.names.flatMap((n) => n.records)).find((r) => r.record.toLowerCase() === record && r.readyAt);
    assert.ok(found?.readyAt, `status shows no readyAt for ${record.slice(0, 20)}`);
    return Date.parse(found.readyAt);
  };
  const served = () => s.served.servedSpkis();

  test('interleaved renewals of both lineages and one renewing both: the RSA-only and ECDSA-only DANE clients never fail, stale records go, one reload for both', { timeout: 8 * 60_000 }, async () => {
    // First issuance: nothing published yet, the RSA chain goes live at once.
    const rsa = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '--cert-name', 'mx-rsa', '--key-type', 'rsa', '-d', HOST, ...hooks], env);
    assertHookClean(rsa, cb.log());
    const keys: Record<Lineage, string[]> = { rsa: [await spkiHash(cert('rsa'))], ecdsa: [] };
    assert.deepEqual(served(), keys.rsa, 'the first RSA chain is in service');
    // The ECDSA chain arrives when the RSA records are out: a resolver may cache them, so it waits.
    const ec = await cb.run(['certonly', ...certbotIssueFlags(cb.webroot), '--cert-name', 'mx-ecdsa', '--key-type', 'ecdsa', '-d', HOST, ...hooks], env);
    assertHookClean(ec, cb.log());
    keys.ecdsa.push(await spkiHash(cert('ecdsa')));
    assert.deepEqual(served(), keys.rsa, 'the first ECDSA chain waits for its records');
    await advance(true);
    assert.deepEqual(served(), [keys.rsa[0], keys.ecdsa[0]], `both chains in service\n${await status()}`);
    assert.deepEqual(await s.tlsa(), await want());

    const probes: Record<Lineage, Probe> = { rsa: s.probe(undefined, RSA_ONLY), ecdsa: s.probe(undefined, ECDSA_ONLY) };
    try {
      for (const l of LINEAGES) await probes[l].waitFor((c) => c.kind === 'ok' && c.servedSpki === keys[l][0], 15_000, `a verified ${l} handshake`);
      for (const l of ['rsa', 'ecdsa', 'rsa', 'ecdsa'] as const) {
        const other: Lineage = l === 'rsa' ? 'ecdsa' : 'rsa';
        const old = keys[l].at(-1)!;
        const r = await cb.run(['renew', '--cert-name', `mx-${l}`, '--force-renewal', '--no-random-sleep-on-renew', ...hooks], env);
        assertHookClean(r, cb.log());
        const now = await spkiHash(cert(l));
        assert.notEqual(now, old, `${l}: certbot made a new key`);
        keys[l].push(now);
        const during = await s.tlsa();
        assert.ok(during.includes(`3 1 1 ${now}`) && during.includes(`3 1 1 ${old}`), `${l}: the new record is out, the old one kept: ${during.join(', ')}`);
        assert.ok(during.includes(`3 1 1 ${keys[other].at(-1)}`), `${l}: the other lineage's record is untouched`);
        assert.ok(served().includes(old), `${l}: the old chain stays in service until the new record is ready`);
        await sleep(400);
        await advance(true);
        assert.ok(served().includes(now) && served().includes(keys[other].at(-1)!), `${l}: the new chain in service beside the other lineage's\n${await status()}`);
        assert.deepEqual(await s.tlsa(), await want(), `${l}: only the current records of both lineages remain`);
        await probes[l].waitFor((c) => c.kind === 'ok' && c.servedSpki === now, 15_000, `${l}: the new chain verified`);
      }

      // One certbot run renews both: both wait; once both are ready one advance promotes both
      // and reloads the service once.
      const both = await cb.run(['renew', '--force-renewal', '--no-random-sleep-on-renew', ...hooks], env);
      assertHookClean(both, cb.log());
      for (const l of LINEAGES) keys[l].push(await spkiHash(cert(l)));
      const due = Math.max(...(await Promise.all(LINEAGES.map((l) => readyAt(`3 1 1 ${keys[l].at(-1)}`)))));
      const reloads = s.served.reloads.length;
      await sleep(Math.max(0, due - Date.now()) + 300);
      await advance(false);
      assert.deepEqual(served(), [keys.rsa.at(-1), keys.ecdsa.at(-1)], `both renewed chains in service\n${await status()}`);
      assert.equal(s.served.reloads.length, reloads + 1, 'one reload for the two promotions');
      await advance(false);
      for (const l of LINEAGES) await probes[l].waitFor((c) => c.kind === 'ok' && c.servedSpki === keys[l].at(-1), 15_000, `${l}: the last chain verified`);
    } finally {
      // Both stop before either verdict is thrown, so no probe outlives the test.
      const verdicts = await Promise.allSettled(LINEAGES.map((l) => assertProbeClean(probes[l], keys[l])));
      for (const v of verdicts) if (v.status === 'rejected') throw v.reason;
    }
    // Every probe check saw the chain of its own key type only.
    for (const l of LINEAGES) assert.ok(probes[l].checks.every((c) => keys[l].includes(c.servedSpki!)), `${l} probe saw only ${l} chains`);
    // The final RRset: exactly the records of the two current keys (and their issuers).
    assert.deepEqual(await s.tlsa(), await want(), 'only the current records remain');
    const check = await s.cli(['check', '--config', s.config, '--resolver', s.resolver.address]);
    assert.equal(check.exitCode, 0, `check: ${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /mx\/rsa/);
    assert.match(check.stdout, /mx\/ecdsa/);
  });
});
