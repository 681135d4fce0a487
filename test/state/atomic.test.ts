// The asynchronous atomic writer (state/atomic.ts writeFilesAtomic) that runs over many services
// use: exact modes, whole content, no temp file left, and on failure an error naming the file with
// nothing half-written in place. ENOSPC comes from a real full tmpfs (mounting needs root; CI is).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFilesAtomic } from '../../src/state/atomic.js';

const isRoot = process.getuid?.() === 0;
let dir: string;
const mounts: string[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dane-atomic-'));
});
after(() => {
  for (const m of mounts) execFileSync('umount', [m]);
  rmSync(dir, { recursive: true, force: true });
});

test('several files in a new folder: each whole, with its exact mode whatever the umask, no temp file left', async () => {
  const folder = join(dir, 'new', 'chain');
  const big = Buffer.alloc(3 * 1024 * 1024, 7); // more than one write may take
  const old = process.umask(0o077);
  try {
    await writeFilesAtomic(folder, [
      { name: 'privkey.pem', data: 'KEY\n', mode: 0o600 },
      { name: 'cert.pem', data: 'CERT\n', mode: 0o644 },
      { name: 'big.bin', data: big },
    ]);
  } finally {
    process.umask(old);
  }
  assert.deepEqual(readdirSync(folder).sort(), ['big.bin', 'cert.pem', 'privkey.pem']);
  assert.equal(readFileSync(join(folder, 'privkey.pem'), 'utf8'), 'KEY\n');
  assert.equal(statSync(join(folder, 'privkey.pem')).mode & 0o777, 0o600);
  assert.equal(statSync(join(folder, 'cert.pem')).mode & 0o777, 0o644, 'the umask (077) does not narrow the mode asked for');
  assert.ok(readFileSync(join(folder, 'big.bin')).equals(big));
});

test('a file that cannot replace what is at its name (a folder there): the error names it, the others stay as they were, no temp file left', async () => {
  const folder = join(dir, 'blocked');
  mkdirSync(join(folder, 'cert.pem'), { recursive: true });
  writeFileSync(join(folder, 'chain.pem'), 'OLD\n');
  await assert.rejects(
    writeFilesAtomic(folder, [
      { name: 'cert.pem', data: 'CERT\n' },
      { name: 'chain.pem', data: 'NEW\n' },
    ]),
    (err: NodeJS.ErrnoException & { dest?: string }) => err.path === join(folder, 'cert.pem') || err.dest === join(folder, 'cert.pem'),
  );
  assert.deepEqual(readdirSync(folder).sort(), ['cert.pem', 'chain.pem']);
  assert.equal(readFileSync(join(folder, 'chain.pem'), 'utf8'), 'OLD\n', 'nothing renamed into place after the failure');
});

test('ENOSPC while writing: the error names the file, the old file stays whole, no temp file left', { skip: !isRoot && !process.env.CI ? 'mounting a tmpfs needs root' : false }, async () => {
  const full = join(dir, 'full');
  mkdirSync(full);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', full]);
  mounts.push(full);
  writeFileSync(join(full, 'state.json'), '{"old": true}\n');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(full, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC: the tmpfs is full
  }
  await assert.rejects(writeFilesAtomic(full, [{ name: 'state.json', data: Buffer.alloc(64 * 1024, 1) }]), (err: NodeJS.ErrnoException) => err.code === 'ENOSPC' && err.path === join(full, 'state.json'));
  assert.equal(readFileSync(join(full, 'state.json'), 'utf8'), '{"old": true}\n');
  assert.deepEqual(readdirSync(full).sort(), ['fill', 'state.json']);
});
