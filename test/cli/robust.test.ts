// Crash- and abuse-proof files through the built CLI against a real named: devices and FIFOs are
// refused without hanging, a state file of the wrong shape fails its service alone (exit 2, file
// and JSON path named) while the others run, an id read back from the state cannot write outside
// it, an empty lock left by a kill does not wedge the service, file-system errors (ENOSPC on a
// full tmpfs, EROFS, ENOTDIR) are one line naming the path with exit 2 and no DNS change, and a
// newline in a value is never echoed raw.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { makePki, renewLeaf, spkiHash, type LeafPaths } from '../support/pki.js';
import { runCli, stderrLines, type CliResult } from '../support/cli.js';

const ID = 'mx.example.test';
const isRoot = process.getuid?.() === 0;

/** Exit 2 with exactly one stderr line that contains every part. */
function refused(r: CliResult, ...parts: string[]): string {
  assert.equal(r.exitCode, 2, `exit ${r.exitCode}: ${r.stderr}`);
  const lines = stderrLines(r).filter((l) => !l.includes('warning:'));
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  for (const p of parts) assert.ok(lines[0]!.includes(p), `'${lines[0]}' names '${p}'`);
  return lines[0]!;
}

describe('bounded reads: devices and FIFOs are refused at once', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-bounded-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('tlsa /dev/zero, a FIFO with no writer, an endless standard input, a config that is a FIFO', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    refused(await runCli(['tlsa', '/dev/zero'], { timeoutMs: 10_000 }), '/dev/zero', 'character device');
    refused(await runCli(['tlsa', fifo], { timeoutMs: 10_000 }), fifo, 'FIFO');
    refused(await runCli(['tlsa', '-'], { input: Buffer.alloc(3 * 1024 * 1024), timeoutMs: 10_000 }), 'standard input', 'larger than');
    refused(await runCli(['status', '--offline', '--config', fifo], { timeoutMs: 10_000 }), fifo, 'FIFO');
    const big = join(dir, 'big.pem');
    writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 0x41));
    refused(await runCli(['tlsa', big], { timeoutMs: 10_000 }), big, 'larger than');
  });
});

describe('state, locks and file-system errors (real named)', () => {
  let bind: BindServer;
  let dir: string;
  let v1: LeafPaths;
  let v2: LeafPaths;
  let port = 2000;
  const mounts: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-robust-'));
    let pki;
    [bind, pki] = await Promise.all([startBind({ ttl: 1, signed: false }), makePki(join(dir, 'pki'), { kinds: ['ec-p256'], host: ID })]);
    v1 = pki.leaves['ec-p256'];
    v2 = await renewLeaf(pki, v1, join(dir, 'v2'));
  });
  after(async () => {
    for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const flags = (stateDir: string, name = `_${port++}._tcp.${ID}`, id?: string) => [
    '--tlsa-name', name, '--records', '3 1 1', '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile, '--state-dir', stateDir, ...(id ? ['--id', id] : []),
  ];
  const tlsa = async (name: string) => (await bind.dig(['+short', '+split=0', 'TLSA', `${name}.`])).toLowerCase();

  function tmpfs(path: string, size: string): void {
    mkdirSync(path, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', path]);
    mounts.push(path);
  }

  test('a state.json of the wrong shape fails that service (exit 2, file and JSON path); advance and status still run the others', async () => {
    const st = join(dir, 'st-shape');
    const goodName = `_${port++}._tcp.${ID}`;
    const good = flags(st, goodName, 'good');
    assert.equal((await runCli(['deploy', ...good, '--activate-dir', join(dir, 'shape-active'), '--lineage', v1.dir])).exitCode, 0);
    assert.equal((await runCli(['deploy', ...good, '--activate-dir', join(dir, 'shape-active'), '--lineage', v2.dir])).exitCode, 0);
    assert.equal((await runCli(['deploy', ...flags(st, undefined, 'broken'), '--activate-dir', join(dir, 'broken-active'), '--lineage', v1.dir])).exitCode, 0);
    const file = join(st, 'services', 'broken', 'state.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    data.rollover.owned = { not: 'a list' };
    writeFileSync(file, JSON.stringify(data));
    await new Promise((r) => setTimeout(r, 2500)); // the good service's renewal is ready by now

    const adv = await runCli(['advance', '--state-dir', st]);
    assert.equal(adv.exitCode, 2, adv.stderr);
    const broken = stderrLines(adv).filter((l) => l.includes('broken'));
    assert.deepEqual(broken, [`dane-hook: broken: state file ${file}: rollover.owned must be a list, not object; restore it from a backup or remove the file to start over`]);
    assert.match(adv.stderr, /good: promote/, 'the other service still ran');
    assert.ok((await tlsa(goodName)).includes(await spkiHash(v2.cert)));

    const status = await runCli(['status', '--offline', '--state-dir', st]);
    assert.equal(status.exitCode, 2, status.stderr);
    assert.match(status.stdout, /^good \(/m, 'status shows the other service');
    assert.match(status.stderr, /broken: state file .*rollover\.owned must be a list/);
  });

  test('an id in state.json that escapes the state dir ("../../x") is refused; nothing is written outside', async () => {
    const st = join(dir, 'st-escape');
    assert.equal((await runCli(['deploy', ...flags(st, undefined, 'esc'), '--lineage', v1.dir])).exitCode, 0);
    const file = join(st, 'services', 'esc', 'state.json');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    data.id = '../../x';
    data.settings.id = '../../x';
    writeFileSync(file, JSON.stringify(data));
    refused(await runCli(['advance', '--state-dir', st]), file, 'id must be an id of a-z');
    assert.ok(!existsSync(join(st, 'x')) && !existsSync(join(dir, 'x')), 'nothing outside the state dir');
  });

  test('a renewal no hook reported: advance with the lineage configured deploys it (also with no state at all)', async () => {
    const st = join(dir, 'st-unreported');
    const name = `_${port}._tcp.${ID}`;
    const f = [...flags(st), '--activate-dir', join(dir, 'unreported-active')];
    const first = await runCli(['advance', ...f, '--lineage', v1.dir]);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stderr, /holds a certificate .* that no deploy hook reported: deploying it now/);
    assert.ok((await tlsa(name)).includes(await spkiHash(v1.cert)));
    const again = await runCli(['advance', ...f, '--lineage', v1.dir]);
    assert.doesNotMatch(again.stderr, /no deploy hook reported/, 'a known certificate is not deployed twice');
    const renewed = await runCli(['advance', ...f, '--lineage', v2.dir]);
    assert.match(renewed.stderr, /no deploy hook reported/);
    assert.ok((await tlsa(name)).includes(await spkiHash(v2.cert)), 'the renewal is published');
  });

  test('an empty lock left by a kill between create and write does not wedge the service', async () => {
    const st = join(dir, 'st-lock');
    const f = flags(st);
    assert.equal((await runCli(['deploy', ...f, '--lineage', v1.dir])).exitCode, 0);
    const lock = join(st, 'services', ID, 'lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const r = await runCli(['advance', ...f]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(!existsSync(lock), 'released');
  });

  test('ENOSPC on a full tmpfs state dir: exit 2, one line naming the path, no DNS change', { skip: !isRoot && !process.env.CI ? 'mounting a tmpfs needs root' : false }, async () => {
    const st = join(dir, 'full');
    tmpfs(st, '64k');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(st, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      // dd stops at ENOSPC: the tmpfs is full
    }
    const name = `_${port}._tcp.${ID}`;
    const serial = await bind.serial();
    const line = refused(await runCli(['deploy', ...flags(st), '--lineage', v1.dir]), st, 'no space left on the device (ENOSPC)');
    assert.doesNotMatch(line, /internal error/);
    assert.equal(await bind.serial(), serial, 'no update reached named');
    assert.equal(await tlsa(name), '');
  });

  test('EROFS (a state dir remounted read-only) and ENOTDIR (a file on the path): exit 2 naming the path', { skip: !isRoot && !process.env.CI ? 'mounting a tmpfs needs root' : false }, async () => {
    const st = join(dir, 'ro');
    tmpfs(st, '4m');
    const f = flags(st);
    assert.equal((await runCli(['deploy', ...f, '--lineage', v1.dir])).exitCode, 0);
    execFileSync('mount', ['-o', 'remount,ro', st]);
    refused(await runCli(['deploy', ...f, '--lineage', v2.dir]), st, 'read-only (EROFS)');
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    refused(await runCli(['deploy', ...flags(join(file, 'state')), '--lineage', v1.dir]), file, 'ENOTDIR');
  });

  test('a newline in a value is shown quoted, never as a second log line', async () => {
    const forged = `${join(dir, 'nope')}\ndane-hook: deployed everything`;
    const r = await runCli(['deploy', ...flags(join(dir, 'st-nl')), '--lineage', forged]);
    assert.equal(r.exitCode, 2);
    assert.equal(stderrLines(r).length, 1, r.stderr);
    assert.ok(r.stderr.includes(JSON.stringify(forged)), r.stderr);
  });
});
