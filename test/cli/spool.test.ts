// Hooks in bulk through the built CLI against a real named: `deploy --spool` as certbot's deploy
// hook only records each renewal (no DNS change, no service state), and one `advance` (certbot's
// --post-hook) deploys every recorded renewal; bad or foreign entries are named, never silent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makeLeaf, makePki, spkiHash, type LeafPaths, type Pki } from '../support/pki.js';
import { runCli, stderrLines } from '../support/cli.js';

describe('deploy --spool, then one advance (real named, real nsupdate)', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  let leaves: LeafPaths[];
  let www: LeafPaths;
  let config: string;
  const N = 3;
  const host = (i: number) => `mx${i}.example.test`;
  const name = (i: number) => `_25._tcp.${host(i)}`;
  const spool = () => join(dir, 'state', 'spool');
  const tlsa = async (i: number) => (await bind.dig(['+short', '+split=0', 'TLSA', `${name(i)}.`])).trim().toLowerCase();
  /** The signed zone serves an update a moment after it was taken (inline signing): ask a few times. */
  const served = async (i: number) => {
    let got = '';
    for (let t = 0; t < 30 && got === ''; t++, await new Promise((r) => setTimeout(r, 100))) got = await tlsa(i);
    return got;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-cli-spool-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'] })]);
    leaves = await Promise.all(Array.from({ length: N }, (_, i) => makeLeaf(join(dir, 'live', host(i)), pki.intermediate, pki.root, { kind: 'ec-p256', host: host(i) })));
    www = await makeLeaf(join(dir, 'live', 'www.example.test'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'www.example.test' });
    await mkdir(join(dir, 'active'));
    config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        stateDir: join(dir, 'state'),
        dns: { backend: 'nsupdate', server: bind.address, tsigKey: bind.tsigKeyFile },
        defaults: { ttl: 1, records: ['3 1 1'] },
        services: leaves.map((l, i) => ({ id: `mx${i}`, lineage: l.dir, tlsaNames: [name(i)], activateDir: join(dir, 'active', `mx${i}`) })),
      }),
    );
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('each certbot deploy hook records its renewal and changes nothing else', async () => {
    const serial = await bind.serial();
    for (const [i, l] of leaves.entries()) {
      const r = await runCli(['deploy', '--spool', '--quiet', '--config', config], { env: { RENEWED_LINEAGE: l.dir, RENEWED_DOMAINS: host(i) } });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '');
    }
    const entries = (await readdir(spool())).sort();
    assert.equal(entries.length, N);
    const first = JSON.parse(await readFile(join(spool(), entries[0]!), 'utf8'));
    assert.equal(first.version, 1);
    assert.equal(first.files.client, 'certbot');
    assert.equal(first.files.lineage, leaves[0]!.dir, 'the order the hooks ran in');
    assert.equal(await bind.serial(), serial, 'no update reached named');
    assert.equal(await tlsa(0), '');
    assert.ok(!existsSync(join(dir, 'state', 'services')), 'no service state yet');
  });

  test('a hook for a certificate no service uses records nothing (the usual one-line warning)', async () => {
    const r = await runCli(['deploy', '--spool', '--config', config], { env: { RENEWED_LINEAGE: www.dir, RENEWED_DOMAINS: 'www.example.test' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /is for no configured service/);
    assert.equal((await readdir(spool())).length, N);
  });

  test('--spool by hand with no certificate named: one-line error, exit 2, nothing recorded', async () => {
    const r = await runCli(['deploy', '--spool', '--config', config], { env: {} });
    assert.equal(r.exitCode, 2);
    assert.equal(stderrLines(r).length, 1);
    assert.match(r.stderr, /no certificate files given/);
    assert.equal((await readdir(spool())).length, N);
  });

  test('one advance deploys every recorded renewal; a broken entry is named (exit 2) and kept', async () => {
    const bad = join(spool(), '000000000000000-bad.json');
    await writeFile(bad, '{"version": 1, "at": 1, "files": {"client": "certbot", "cert": "relative.pem", "key": "/k"}}\n');
    const r = await runCli(['advance', '--quiet', '--config', config]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.deepEqual(stderrLines(r).filter((l) => /spool/.test(l)), [
      `dane-hook: spool: spool entry ${bad} is not valid (files.cert and files.key must be absolute paths): remove it`,
    ]);
    for (const [i, l] of leaves.entries()) {
      assert.equal(await served(i), `3 1 1 ${await spkiHash(l.cert)}`, name(i));
      assert.equal(await readFile(join(dir, 'active', `mx${i}`, 'cert.pem'), 'utf8'), await readFile(l.cert, 'utf8'), `mx${i} in service`);
    }
    assert.deepEqual(await readdir(spool()), ['000000000000000-bad.json'], 'taken entries are gone, the broken one stays');
    await rm(bad);
    // The first records' wait (2 x TTL) is over: the next advance has nothing to do and nothing due.
    await new Promise((r) => setTimeout(r, 2 * 1000 + 1000));
    const again = await runCli(['advance', '--config', config]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(stderrLines(again), leaves.map((_, i) => `mx${i}: nothing to do`));
  });
});
