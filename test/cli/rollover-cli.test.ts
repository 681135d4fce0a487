// deploy, pre-renew and advance through the built CLI against a real named: hooks called for a
// certificate no service uses change nothing, one failing service does not stop the others, and
// advance --json prints exactly one JSON document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makeLeaf, makePki, openssl, renewLeaf, type LeafPaths, type Pki, spkiHash } from '../support/pki.js';
import { runCli, stderrLines } from '../support/cli.js';

const MX = '_25._tcp.mx.example.test';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hooks for a certificate no service uses (real named)', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  let mx: LeafPaths;
  let www: LeafPaths;

  const tlsa = async (name = MX) => (await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`])).trim().toLowerCase();
  const flags = (stateDir: string) => [
    '--tlsa-name', MX, '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile,
    '--state-dir', stateDir, '--activate-dir', `${stateDir}-active`,
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-cli-match-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1, signed: false }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    mx = pki.leaves['ec-p256'];
    // A certbot lineage (cert.pem, chain.pem, fullchain.pem, privkey.pem) for another host.
    www = await makeLeaf(join(dir, 'live', 'www.example.test'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'www.example.test' });
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('certbot deploy hook for another lineage: one warning line (even --quiet), exit 0, no DNS change, no state', async () => {
    const stateDir = join(dir, 'state-www');
    const serial = await bind.serial();
    const r = await runCli(['deploy', '--quiet', ...flags(stateDir)], { env: { RENEWED_LINEAGE: www.dir, RENEWED_DOMAINS: 'www.example.test' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(stderrLines(r), [
      'dane-hook: warning: the certificate for www.example.test (certbot) is for no configured service (TLSA hosts: mx.example.test); nothing done. If it is meant for one, name its files (--lineage DIR or --cert/--key) or its lineage in the config',
    ]);
    assert.equal(await bind.serial(), serial, 'no update reached named');
    assert.equal(await tlsa(), '');
    assert.ok(!existsSync(join(stateDir, 'services')), 'no service state written');
  });

  test('acme.sh pre-hook for another domain: its next key is never published at the configured service', async () => {
    const stateDir = join(dir, 'state-pre');
    const acme = join(dir, 'acme', 'www.example.test');
    await mkdir(acme, { recursive: true });
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(acme, 'www.example.test.key.next')]);
    const serial = await bind.serial();
    const env = { Le_Domain: 'www.example.test', Le_Alt: 'no', DOMAIN_PATH: acme };
    const r = await runCli(['pre-renew', '--quiet', ...flags(stateDir)], { env });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(stderrLines(r), [
      'dane-hook: warning: the certificate for www.example.test (acme.sh) is for no configured service (TLSA hosts: mx.example.test); nothing done. If it is meant for one, name its files (--lineage DIR or --cert/--key) or its lineage in the config',
    ]);
    assert.equal(await bind.serial(), serial, 'no update reached named');
    assert.ok(!(await tlsa()).includes(await spkiHash(join(acme, 'www.example.test.key.next'), true)));
  });

  test('control: the matching lineage is deployed (first deploy, staged: promoted, no "waits" line)', async () => {
    const stateDir = join(dir, 'state-mx');
    const r = await runCli(['deploy', ...flags(stateDir)], { env: { RENEWED_LINEAGE: mx.dir, RENEWED_DOMAINS: 'mx.example.test' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok((await tlsa()).includes(`3 1 1 ${await spkiHash(mx.cert)}`), await tlsa());
    assert.match(r.stderr, /promote +chain/);
    assert.doesNotMatch(r.stderr, /waits for its records/);
  });

  test("control: acme.sh pre-hook for the service's own domain publishes its next key", async () => {
    const stateDir = join(dir, 'state-mx');
    const acme = join(dir, 'acme', 'mx.example.test');
    await mkdir(acme, { recursive: true });
    const next = join(acme, 'mx.example.test.key.next');
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', next]);
    const r = await runCli(['pre-renew', '--quiet', ...flags(stateDir)], { env: { Le_Domain: 'mx.example.test', Le_Alt: 'no', DOMAIN_PATH: acme } });
    assert.ok(r.exitCode === 0 || r.exitCode === 5, r.stderr);
    assert.ok((await tlsa()).includes(`3 1 1 ${await spkiHash(next, true)}`));
    // The gate closed (exit 5): even with --quiet the reason is on stderr, for acme.sh's log.
    if (r.exitCode === 5) assert.match(r.stderr, /next key's record not ready yet/);
  });

  test('several services: a failing one is reported with its id, the others still run, the exit code is the worst', async () => {
    const stateDir = join(dir, 'state-multi');
    const config = join(dir, 'multi.json');
    // Both services are for mx.example.test; the first has a corrupt state file.
    await writeFile(config, JSON.stringify({
      stateDir,
      dns: { backend: 'nsupdate', server: bind.address, tsigKey: bind.tsigKeyFile },
      defaults: { ttl: 1 },
      services: [
        { id: 'broken', tlsaNames: ['_587._tcp.mx.example.test'] },
        { id: 'smtps', tlsaNames: ['_465._tcp.mx.example.test'] },
      ],
    }));
    await mkdir(join(stateDir, 'services', 'broken'), { recursive: true });
    await writeFile(join(stateDir, 'services', 'broken', 'state.json'), '{');
    const r = await runCli(['deploy', '--quiet', '--config', config], { env: { RENEWED_LINEAGE: mx.dir, RENEWED_DOMAINS: 'mx.example.test' } });
    assert.equal(r.exitCode, 2, r.stderr);
    const lines = stderrLines(r).filter((l) => !/not DNSSEC-signed/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^dane-hook: broken: state file .*state\.json is not readable JSON/);
    assert.ok((await tlsa('_465._tcp.mx.example.test')).includes(`3 1 1 ${await spkiHash(mx.cert)}`), 'smtps deployed after broken failed');

    const a = await runCli(['advance', '--config', config, '--json']);
    assert.equal(a.exitCode, 2, a.stderr);
    const doc = JSON.parse(a.stdout);
    assert.deepEqual(doc.services.map((s: { service: string }) => s.service), ['smtps']);
    assert.equal(doc.failed[0].service, 'broken');
    assert.equal(doc.failed[0].exitCode, 2);
    assert.match(a.stderr, /dane-hook: broken: state file/);

    // Without the config, both come from the state dir: the unreadable one is reported, not fatal.
    const b = await runCli(['advance', '--state-dir', stateDir, '--json']);
    assert.equal(b.exitCode, 2, b.stderr);
    assert.deepEqual(JSON.parse(b.stdout).services.map((s: { service: string }) => s.service), ['smtps']);
    assert.match(b.stderr, /^dane-hook: broken: state file .* is not readable JSON/m);
  });
});

describe('advance --json with the emit backend (no server)', () => {
  let pki: Pki;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-cli-emit-'));
    pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('advance --json --wait prints exactly one JSON document holding what every round emitted', async () => {
    const stateDir = join(dir, 'state');
    const base = ['--tlsa-name', MX, '--records', '3 1 1', '--ttl', '1', '--dns', 'emit', '--zone', 'example.test', '--state-dir', stateDir, '--activate-dir', join(dir, 'active')];
    const first = pki.leaves['ec-p256'];
    const d1 = await runCli(['deploy', '--quiet', ...base, '--cert', first.cert, '--chain', first.chain, '--key', first.key]);
    assert.equal(d1.exitCode, 0, d1.stderr);
    const renewed = await renewLeaf(pki, first, join(dir, 'renew'));
    const d2 = await runCli(['deploy', '--quiet', ...base, '--cert', renewed.cert, '--chain', renewed.chain, '--key', renewed.key]);
    assert.equal(d2.exitCode, 0, d2.stderr);
    assert.match(d2.stdout, new RegExp(`update add ${MX}\\. 1 IN TLSA 3 1 1 ${await spkiHash(renewed.cert)}`, 'i'));
    await sleep(200);
    const a = await runCli(['advance', '--state-dir', stateDir, '--json', '--wait', '--max-wait', '30'], { timeoutMs: 40_000 });
    assert.equal(a.exitCode, 0, a.stderr);
    const doc = JSON.parse(a.stdout); // throws on a second document or a bare script beside it
    assert.equal(doc.services.length, 1);
    const s = doc.services[0];
    assert.ok(s.steps.some((x: { kind: string }) => x.kind === 'promote'), a.stdout);
    assert.match(s.emitted, new RegExp(`update delete ${MX}\\. (\\d+ )?IN TLSA 3 1 1 ${await spkiHash(first.cert)}`, 'i'));
  });
});
