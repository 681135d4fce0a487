// Regressions from the independent review, against a real named: a name removed from the config,
// an observation that fails, a reload that fails before a newer renewal, a direct first deploy
// over a foreign record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, freePort, type BindServer } from '../support/bind.js';
import { makeIntermediate, makePki, renewLeaf, type Pki, spkiHash as spki } from '../support/pki.js';
import { runCli } from '../support/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('review regressions (real named)', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  const tlsa = async (name: string) => (await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`])).trim().split('\n').filter(Boolean).map((l) => l.toLowerCase());
  const dnsArgs = (st: string) => ['--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', st, '--ttl', '1'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-regress-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
    await writeFile(join(dir, 'fail.sh'), '#!/bin/sh\nexit 1\n');
    await chmod(join(dir, 'fail.sh'), 0o755);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a name removed from the config: the rest goes on, its last records need --force (exit 7), then go', async () => {
    const [N1, N2] = ['_25._tcp.mx.example.test', '_465._tcp.mx.example.test'];
    const st = join(dir, 'r1');
    const dns = [...dnsArgs(st), '--activate-dir', join(dir, 'r1-active')];
    const a = pki.leaves['ec-p256'];
    let r = await runCli(['deploy', ...dns, '--tlsa-name', N1, '--tlsa-name', N2, '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r.exitCode, 0, r.stderr);
    await sleep(2500);
    const b = await renewLeaf(pki, a, join(dir, 'r1b'), { issuer: await makeIntermediate(pki, 'r1sib') });
    r = await runCli(['deploy', ...dns, '--tlsa-name', N1, '--cert', b.cert, '--chain', b.chain, '--key', b.key]);
    assert.equal(r.exitCode, 7, r.stderr);
    assert.match(r.stderr, /--force/);
    assert.ok((await tlsa(N1)).includes(`3 1 1 ${await spki(b.cert)}`), 'the new record is published all the same');
    assert.ok((await tlsa(N2)).length > 0, 'N2 kept without --force');
    r = await runCli(['advance', ...dns, '--tlsa-name', N1, '--force']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(await tlsa(N2), [], 'N2 withdrawn with --force');
  });

  test('an observation that fails does not make dane-hook forget records it owns', async () => {
    const name = '_26._tcp.mx.example.test';
    const st = join(dir, 'r2');
    const dns = [...dnsArgs(st), '--tlsa-name', name, '--records', '3 1 1'];
    const a = await renewLeaf(pki, pki.leaves['ec-p256'], join(dir, 'r2a'));
    assert.equal((await runCli(['deploy', ...dns, '--cert', a.cert, '--chain', a.chain, '--key', a.key])).exitCode, 0);
    await sleep(2500);
    const b = await renewLeaf(pki, a, join(dir, 'r2b'));
    assert.equal((await runCli(['deploy', ...dns, '--cert', b.cert, '--chain', b.chain, '--key', b.key])).exitCode, 4, 'direct mode, new key: unsafe');
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await runCli(['advance', ...dns, '--auth-server', dead]);
    assert.match(r.stderr, /did not answer/);
    const state = JSON.parse(await readFile(join(st, 'services', 'mx.example.test', 'state.json'), 'utf8'));
    const aKey = await spki(a.cert);
    assert.ok(state.rollover.owned.some((o: { record: { data: string } }) => o.record.data === aKey), 'a is still owned');
    await sleep(2500);
    assert.equal((await runCli(['advance', ...dns])).exitCode, 0);
    await sleep(2500);
    assert.equal((await runCli(['advance', ...dns])).exitCode, 0);
    const have = await tlsa(name);
    assert.ok(!have.includes(`3 1 1 ${await spki(a.cert)}`), `stale record withdrawn: ${have}`);
    assert.ok(have.includes(`3 1 1 ${await spki(b.cert)}`));
  });

  test('a reload that fails after the swap keeps the swapped-in chain matched, even when a newer renewal comes', async () => {
    const name = '_27._tcp.mx.example.test';
    const st = join(dir, 'r3');
    const active = join(dir, 'r3-active');
    const dns = [...dnsArgs(st), '--tlsa-name', name, '--activate-dir', active];
    const a = await renewLeaf(pki, pki.leaves['ec-p256'], join(dir, 'r3a'));
    assert.equal((await runCli(['deploy', ...dns, '--reload', '/bin/true', '--cert', a.cert, '--chain', a.chain, '--key', a.key])).exitCode, 0);
    await sleep(2500);
    const b = await renewLeaf(pki, a, join(dir, 'r3b'), { issuer: await makeIntermediate(pki, 'r3sib') });
    assert.equal((await runCli(['deploy', ...dns, '--reload', '/bin/true', '--cert', b.cert, '--chain', b.chain, '--key', b.key])).exitCode, 0);
    await sleep(2500);
    const failed = await runCli(['advance', ...dns, '--reload', join(dir, 'fail.sh')]);
    assert.notEqual(failed.exitCode, 0);
    assert.match(failed.stderr, /reload command/);
    assert.equal(await spki(join(active, 'cert.pem')), await spki(b.cert), 'the activate dir holds b');
    const c = await renewLeaf(pki, b, join(dir, 'r3c'), { issuer: await makeIntermediate(pki, 'r3sib2') });
    await runCli(['deploy', ...dns, '--reload', join(dir, 'fail.sh'), '--cert', c.cert, '--chain', c.chain, '--key', c.key]);
    const have = await tlsa(name);
    assert.ok(have.includes(`3 1 1 ${await spki(b.cert)}`), 'b is in the activate dir: its record stays');
    assert.ok(have.includes(`3 1 1 ${await spki(a.cert)}`), 'a may still be presented by the old processes: its record stays');
    // Once a reload works, the rollover converges to c alone.
    const done = await runCli(['advance', ...dns, '--reload', '/bin/true', '--wait', '--max-wait', '20'], { timeoutMs: 40_000 });
    assert.equal(done.exitCode, 0, done.stderr);
    await runCli(['advance', ...dns, '--reload', '/bin/true']);
    const end = await tlsa(name);
    assert.equal(await spki(join(active, 'cert.pem')), await spki(c.cert));
    assert.ok(!end.includes(`3 1 1 ${await spki(a.cert)}`) && !end.includes(`3 1 1 ${await spki(b.cert)}`), end.join('\n'));
  });

  test('a direct first deploy over a foreign record is flagged unsafe (exit 4)', async () => {
    const name = '_28._tcp.mx.example.test';
    await bind.nsupdate([`update add ${name}. 1 IN TLSA 3 1 1 ${'ab'.repeat(32)}`]);
    const a = pki.leaves['ec-p256'];
    const r = await runCli(['deploy', ...dnsArgs(join(dir, 'r4')), '--tlsa-name', name, '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r.exitCode, 4, r.stderr);
    assert.ok((await tlsa(name)).includes(`3 1 1 ${'ab'.repeat(32)}`));
  });
});
