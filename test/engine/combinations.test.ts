// Issue 7 against a real named (DNSSEC, TSIG, TTL 1 s): records 3 1 1 + 3 1 2 + 2 1 1, staged; a
// new key from the same intermediate is not promoted while its 3 1 x records are not ready (the
// ready 2 1 1 alone must not carry it). Issue 8: a bad --activate-dir is found before any DNS change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, renewLeaf, spkiHash, type Pki } from '../support/pki.js';
import { runCli } from '../support/cli.js';

const NAME = '_25._tcp.mx.example.test';

describe('per-combination readiness against a real BIND', () => {
  let bind: BindServer;
  let pki: Pki;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-combos-'));
    [bind, pki] = await Promise.all([startBind({ ttl: 1 }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' })]);
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const base = (st: string, active: string) => ['--tlsa-name', NAME, '--records', '3 1 1', '--records', '3 1 2', '--records', '2 1 1', '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', st, '--activate-dir', active];

  test('3 1 1 + 3 1 2 + 2 1 1, new key, same intermediate: held until the 3 1 x are ready, then promoted', async () => {
    const st = join(dir, 'st');
    const active = join(dir, 'active');
    const a = pki.leaves['ec-p256'];
    const r1 = await runCli(['deploy', ...base(st, active), '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r1.exitCode, 0, r1.stderr);
    await new Promise((r) => setTimeout(r, 2500));
    const b = await renewLeaf(pki, a, join(dir, 'b'));
    const r2 = await runCli(['deploy', ...base(st, active), '--cert', b.cert, '--chain', b.chain, '--key', b.key, '--json']);
    assert.equal(r2.exitCode, 0, r2.stderr);
    const doc = JSON.parse(r2.stdout).services[0];
    assert.ok(!doc.steps.some((s: { kind: string }) => s.kind === 'promote'), 'not promoted at once');
    const pending = doc.combos.find((c: { role: string }) => c.role === 'pending');
    assert.deepEqual(pending.combos.map((c: { params: string; ready: boolean }) => `${c.params}:${c.ready}`), ['3 1 1:false', '3 1 2:false', '2 1 1:true']);
    assert.equal(await spkiHash(join(active, 'cert.pem')), await spkiHash(a.cert), 'the old chain stays in service');
    const status = await runCli(['status', '--state-dir', st]);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout, /pending .*\(3 1 1 (ready|not served)/, status.stdout);
    const done = await runCli(['advance', '--state-dir', st, '--wait', '--max-wait', '30'], { timeoutMs: 40_000 });
    assert.equal(done.exitCode, 0, done.stderr);
    assert.equal(await spkiHash(join(active, 'cert.pem')), await spkiHash(b.cert), 'promoted once ready');
  });

  test('a file where --activate-dir should be: exit 2, one line naming it, no DNS change', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const serial = await bind.serial();
    const a = pki.leaves['ec-p256'];
    const r = await runCli(['deploy', ...base(join(dir, 'st2'), file), '--tlsa-name', '_26._tcp.mx.example.test', '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /--activate-dir .*not-a-dir is a file/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(await bind.serial(), serial);
  });

  test('an advance checks --activate-dir when it would promote: a file there is exit 2, one line, no DNS change, still pending', async () => {
    const st = join(dir, 'st4');
    const active = join(dir, 'active4');
    const a = pki.leaves['ec-p256'];
    const name = '_27._tcp.mx.example.test';
    const r1 = await runCli(['deploy', ...base(st, active), '--tlsa-name', name, '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r1.exitCode, 0, r1.stderr);
    await new Promise((r) => setTimeout(r, 2500));
    const b = await renewLeaf(pki, a, join(dir, 'b4'));
    const r2 = await runCli(['deploy', ...base(st, active), '--tlsa-name', name, '--cert', b.cert, '--chain', b.chain, '--key', b.key]);
    assert.equal(r2.exitCode, 0, r2.stderr);
    // The activate dir turns into a file before the promoting advance.
    await rm(active, { recursive: true, force: true });
    await writeFile(active, 'x');
    await new Promise((r) => setTimeout(r, 2500));
    const serial = await bind.serial();
    const r3 = await runCli(['advance', '--state-dir', st]);
    assert.equal(r3.exitCode, 2, r3.stderr);
    assert.match(r3.stderr, /--activate-dir .*active4 is a file/);
    assert.equal(r3.stderr.trim().split('\n').length, 1, r3.stderr);
    assert.equal(await bind.serial(), serial, 'no DNS change');
    const status = await runCli(['status', '--state-dir', st]);
    assert.match(status.stdout, /pending/, 'the new chain is still pending');
    // Put right, the next advance promotes.
    await rm(active, { force: true });
    const r4 = await runCli(['advance', '--state-dir', st]);
    assert.equal(r4.exitCode, 0, r4.stderr);
    assert.equal(await spkiHash(join(active, 'cert.pem')), await spkiHash(b.cert), 'promoted');
  });

  test('an --activate-dir whose parent does not exist: exit 2 before any DNS change', async () => {
    const serial = await bind.serial();
    const a = pki.leaves['ec-p256'];
    const r = await runCli(['deploy', ...base(join(dir, 'st3'), join(dir, 'missing', 'active')), '--cert', a.cert, '--chain', a.chain, '--key', a.key]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /parent .* does not exist/);
    assert.equal(await bind.serial(), serial);
  });
});
