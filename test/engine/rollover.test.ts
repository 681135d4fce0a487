// The rollover end to end through the built CLI against a real named (DNSSEC inline signing,
// TSIG updates) on loopback, with TTLs of 1 s: first deploy, staged rollover with a new key,
// next key, issuer change, a foreign record that survives, a kill mid-run, bad input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, writeFile, chmod } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startBind, type BindServer } from '../support/bind.js';
import { makeIntermediate, makePki, renewLeaf, type CaPaths, type LeafPaths, type Pki, spkiHash } from '../support/pki.js';
import { runCli, CLI } from '../support/cli.js';

const NAME = '_25._tcp.mx.example.test';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rollover against a real BIND (staged mode)', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  let leaf: LeafPaths;
  let stateDir: string;
  let active: string;
  let reloadLog: string;
  let reloadCmd: string;
  let sibling: CaPaths;

  const base = () => [
    '--tlsa-name', NAME, '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile,
    '--state-dir', stateDir, '--activate-dir', active, '--reload', reloadCmd,
  ];
  const tlsa = async (port?: number) =>
    (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`], port)).trim().split('\n').filter(Boolean).map((l) => l.toLowerCase()).sort();
  const activeSpki = async () => spkiHash(join(active, 'cert.pem'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-rollover-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1, secondary: true }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    leaf = pki.leaves['ec-p256'];
    stateDir = join(dir, 'state');
    active = join(dir, 'active');
    reloadLog = join(dir, 'reloads');
    reloadCmd = `${join(dir, 'reload.sh')} ${reloadLog}`;
    await writeFile(join(dir, 'reload.sh'), '#!/bin/sh\necho reload >> "$1"\n');
    await chmod(join(dir, 'reload.sh'), 0o755);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('first deploy publishes 3 1 1 and 2 1 1 and puts the chain in service at once', async () => {
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    const have = await tlsa();
    assert.ok(have.includes(`3 1 1 ${await spkiHash(leaf.cert)}`), have.join('\n'));
    assert.ok(have.includes(`2 1 1 ${await spkiHash(pki.intermediate.cert)}`), have.join('\n'));
    assert.equal(await activeSpki(), await spkiHash(leaf.cert));
    assert.equal(statSync(join(active, 'privkey.pem')).mode & 0o777, 0o600);
    assert.equal(await readFile(join(active, 'privkey.pem'), 'utf8'), await readFile(leaf.key, 'utf8'), 'a PKCS#8 key goes into service as the file held it');
    assert.equal((await readFile(reloadLog, 'utf8')).trim().split('\n').length, 1);
    assert.ok((await readlink(active)).includes('.versions'));
  });

  test('a foreign record at the same name is added by someone else (and must survive everything)', async () => {
    await bind.nsupdate([`update add ${NAME}. 1 IN TLSA 3 1 1 ${'ab'.repeat(32)}`]);
    assert.ok((await tlsa()).includes(`3 1 1 ${'ab'.repeat(32)}`));
  });

  test('renewal with a new key from another issuer: the old chain stays in service until the new records are ready', async () => {
    const old = leaf;
    // A new key from the same issuer would be matched by the ready 2 1 1 at once: change both.
    sibling = await makeIntermediate(pki, 'sibling');
    leaf = await renewLeaf(pki, old, join(dir, 'renew1'), { issuer: sibling });
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    const have = await tlsa();
    assert.ok(have.includes(`3 1 1 ${await spkiHash(leaf.cert)}`), 'new record published');
    assert.ok(have.includes(`3 1 1 ${await spkiHash(old.cert)}`), 'old record kept');
    assert.equal(await activeSpki(), await spkiHash(old.cert), 'old chain still in service');

    const status = await runCli(['status', '--state-dir', stateDir, '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const s = JSON.parse(status.stdout).services[0];
    assert.ok(s.pending, 'the renewed chain is pending');
    // With TTL 1 a loaded machine may take the 2 s wait between two CLI calls: only while the
    // pending chain is not ready does an advance have to leave it alone.
    const readyAt = Math.max(...s.pending.combos.map((c: { readyAt?: number }) => c.readyAt ?? Infinity));
    // status names the pending chain's own time: its last combination to be ready.
    if (!s.pending.ready && Number.isFinite(readyAt)) {
      assert.ok(s.nextSteps.some((t: string) => t.includes(`promote the pending chain ${s.pending.id.slice(0, 16)} at ${new Date(readyAt).toISOString()}`)), s.nextSteps.join('\n'));
    }
    const early = await runCli(['advance', '--state-dir', stateDir]);
    assert.equal(early.exitCode, 0, early.stderr);
    if (Date.now() < readyAt) assert.equal(await activeSpki(), await spkiHash(old.cert), 'advance before the wait is over promotes nothing');

    // advance --wait: promotes once ready, then withdraws the old 3 1 1 only
    const done = await runCli(['advance', '--state-dir', stateDir, '--wait', '--max-wait', '30'], { timeoutMs: 40_000 });
    assert.equal(done.exitCode, 0, done.stderr);
    assert.equal(await activeSpki(), await spkiHash(leaf.cert), 'new chain promoted');
    const after = await tlsa();
    assert.ok(!after.includes(`3 1 1 ${await spkiHash(old.cert)}`), 'old record withdrawn');
    assert.ok(after.includes(`3 1 1 ${await spkiHash(leaf.cert)}`));
    assert.ok(after.includes(`3 1 1 ${'ab'.repeat(32)}`), 'foreign record survives');
    assert.ok(after.includes(`2 1 1 ${await spkiHash(sibling.cert)}`));
    assert.ok(!after.includes(`2 1 1 ${await spkiHash(pki.intermediate.cert)}`), 'old issuer withdrawn');
    // the secondary serves the same set once its transfer is through (NOTIFY + IXFR: well under 5 s)
    let secondary: string[] = [];
    for (let i = 0; i < 50 && JSON.stringify(secondary) !== JSON.stringify(after); i++) {
      secondary = await tlsa(bind.secondaryPort);
      if (JSON.stringify(secondary) !== JSON.stringify(after)) await sleep(100);
    }
    assert.deepEqual(secondary, after);
  });

  test('next key: pre-renew publishes it and gates (exit 5) until ready; a renewal with it goes live at once', async () => {
    const nextKey = join(dir, 'next-key.pem');
    const gen = await runCli(['pre-renew', ...base(), '--next-key', nextKey, '--generate-next-key']);
    assert.equal(gen.exitCode, 5, `not ready yet: ${gen.stderr}`);
    assert.equal(statSync(nextKey).mode & 0o777, 0o600);
    assert.ok((await tlsa()).includes(`3 1 1 ${await spkiHash(nextKey, true)}`));
    let code = 5;
    for (let i = 0; i < 30 && code === 5; i++) {
      await sleep(500);
      code = (await runCli(['pre-renew', ...base(), '--next-key', nextKey])).exitCode;
    }
    assert.equal(code, 0, 'next key record ready');
    const old = leaf;
    leaf = await renewLeaf(pki, { ...old, key: nextKey }, join(dir, 'renew2'), { reuseKey: true, issuer: sibling });
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await activeSpki(), await spkiHash(nextKey, true), 'renewed chain live in the same run');
    assert.ok(!(await tlsa()).includes(`3 1 1 ${await spkiHash(old.cert)}`), 'previous key withdrawn');
  });

  test('issuer change with a stable key: the new 2 1 1 is published, promoted once it is ready (DANE-TA-only clients), the old one withdrawn', async () => {
    const old = leaf;
    leaf = await renewLeaf(pki, old, join(dir, 'renew3'), { reuseKey: true, issuer: pki.intermediate });
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok((await tlsa()).includes(`2 1 1 ${await spkiHash(sibling.cert)}`), 'old issuer kept while the new 2 1 1 is not ready');
    const done = await runCli(['advance', '--state-dir', stateDir, '--wait', '--max-wait', '30'], { timeoutMs: 40_000 });
    assert.equal(done.exitCode, 0, done.stderr);
    const have = await tlsa();
    assert.equal(await activeSpki(), await spkiHash(leaf.cert));
    assert.ok(have.includes(`2 1 1 ${await spkiHash(pki.intermediate.cert)}`));
    assert.ok(!have.includes(`2 1 1 ${await spkiHash(sibling.cert)}`), 'old issuer withdrawn');
    assert.ok(have.includes(`3 1 1 ${'ab'.repeat(32)}`), 'foreign record survives');
  });

  test('killed between publish and promotion, a rerun converges', async () => {
    const old = leaf;
    leaf = await renewLeaf(pki, old, join(dir, 'renew4'), { issuer: sibling });
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    await sleep(2500);
    // This advance hangs in its reload (after the activate dir changed, before state is saved): kill it.
    const slow = join(dir, 'slow-reload.sh');
    await writeFile(slow, '#!/bin/sh\nsleep 30\n');
    await chmod(slow, 0o755);
    const child = execa(process.execPath, [CLI, 'advance', ...base().slice(0, -1), slow], { reject: false });
    for (let i = 0; i < 100 && (await activeSpki().catch(() => '')) !== (await spkiHash(leaf.cert)); i++) await sleep(100);
    child.kill('SIGKILL');
    await child;
    assert.ok((await tlsa()).includes(`3 1 1 ${await spkiHash(old.cert)}`), 'old record still there after the kill');
    const rerun = await runCli(['advance', ...base()]);
    assert.equal(rerun.exitCode, 0, rerun.stderr);
    const have = await tlsa();
    assert.equal(await activeSpki(), await spkiHash(leaf.cert));
    assert.ok(!have.includes(`3 1 1 ${await spkiHash(old.cert)}`), 'old record withdrawn after the rerun');
    assert.ok(have.includes(`3 1 1 ${await spkiHash(leaf.cert)}`));
  });

  test('bad input makes no DNS change: a key that does not match its certificate', async () => {
    const serial = await bind.serial();
    const other = await renewLeaf(pki, leaf, join(dir, 'other'));
    const r = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', other.key]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /does not match certificate/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(await bind.serial(), serial);
  });

  test('bad input makes no DNS change: a chain with the leaf last, a public key as the key', async () => {
    const serial = await bind.serial();
    const reversed = join(dir, 'leaf-last.pem');
    await writeFile(reversed, `${await readFile(leaf.chain, 'utf8')}${await readFile(leaf.cert, 'utf8')}`);
    const r = await runCli(['deploy', ...base(), '--cert', reversed, '--key', leaf.key]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /matches certificate 2 in .*leaf-last\.pem, not the first: the server's own certificate must come first/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    const pub = join(dir, 'pub.pem');
    await execa('openssl', ['pkey', '-in', leaf.key, '-pubout', '-out', pub]);
    const k = await runCli(['deploy', ...base(), '--cert', leaf.cert, '--chain', leaf.chain, '--key', pub]);
    assert.equal(k.exitCode, 2);
    assert.match(k.stderr, /pub\.pem holds a public key, not a private key$/m);
    assert.equal(await bind.serial(), serial);
  });

  test('bad input makes no DNS change: a newline in a TLSA name', async () => {
    const serial = await bind.serial();
    const args = base();
    args[1] = `${NAME}\nupdate delete example.test. SOA`;
    const r = await runCli(['deploy', ...args, '--cert', leaf.cert, '--chain', leaf.chain, '--key', leaf.key]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(await bind.serial(), serial);
  });
});

describe('direct mode and unsigned zones', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-direct-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1, signed: false }), makePki(join(dir, 'pki'), { kinds: ['rsa'], host: 'mx.example.test' })]);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a renewal live before its record is ready exits 4 with a warning; the old record stays until the new one is ready', async () => {
    const stateDir = join(dir, 'state');
    const base = ['--tlsa-name', NAME, '--records', '3 1 1', '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', stateDir];
    const first = pki.leaves.rsa;
    const r1 = await runCli(['deploy', ...base, '--fullchain', first.fullchain, '--cert', first.cert, '--key', first.key]);
    assert.equal(r1.exitCode, 0, r1.stderr);
    assert.match(r1.stderr, /not DNSSEC-signed/);
    const renewed = await renewLeaf(pki, first, join(dir, 'renew'));
    const r2 = await runCli(['deploy', ...base, '--fullchain', renewed.fullchain, '--cert', renewed.cert, '--key', renewed.key]);
    assert.equal(r2.exitCode, 4, r2.stderr);
    assert.match(r2.stderr, /UNSAFE/);
    const have = (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
    assert.ok(have.includes(await spkiHash(first.cert)) && have.includes(await spkiHash(renewed.cert)));
    await sleep(2500);
    const r3 = await runCli(['advance', '--state-dir', stateDir]);
    assert.equal(r3.exitCode, 0, r3.stderr);
    const after = (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).toLowerCase();
    assert.ok(!after.includes(await spkiHash(first.cert)) && after.includes(await spkiHash(renewed.cert)), after);
  });
});
