// Pruning and leftovers: chain copies beyond those in play and the last two are removed (their
// private keys too), temp files of killed writes go, folders made for the state dir are 0700.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainsToKeep, pruneChains, tidyActivateDir, tidyServiceDir, tidyServiceDirAsync } from '../../src/state/tidy.js';
import { writeFileAtomic } from '../../src/state/atomic.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'dane-tidy-'));

function fileWith(ids: string[], inPlay: Partial<Record<'inService' | 'pending' | 'retiring', string>>, root = '/s') {
  const chains = Object.fromEntries(ids.map((id, i) => [id, { id, dir: join(root, 'chains', id), addedAt: i }]));
  const ref = (id?: string) => (id ? { id, records: [] } : undefined);
  return { chains, rollover: { inService: ref(inPlay.inService), pending: ref(inPlay.pending), retiring: ref(inPlay.retiring), owned: [], seen: {}, names: {} } };
}

test('keeps the chains in play and the last two, nothing older', () => {
  const ids = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
  assert.deepEqual([...chainsToKeep(fileWith(ids, { inService: 'c1', pending: 'c5' }))].sort(), ['c1', 'c4', 'c5']);
  assert.deepEqual([...chainsToKeep(fileWith(ids, { inService: 'c0', retiring: 'c2' }))].sort(), ['c0', 'c2', 'c4', 'c5']);
  const f = fileWith(ids, { inService: 'c5' });
  assert.deepEqual(pruneChains(f).sort(), ['/s/chains/c0', '/s/chains/c1', '/s/chains/c2', '/s/chains/c3']);
  assert.deepEqual(Object.keys(f.chains).sort(), ['c4', 'c5']);
});

for (const [label, tidy] of [
  ['tidyServiceDir', tidyServiceDir],
  ['tidyServiceDirAsync', tidyServiceDirAsync],
] as const) {
  test(`${label} removes chain folders the state no longer names and temp files of killed writes`, async () => {
    const dir = tmp();
    try {
      for (const id of ['c4', 'c5', 'old', 'orphan']) writeFileAtomic(join(dir, 'chains', id, 'privkey.pem'), 'k', 0o600);
      writeFileSync(join(dir, '.state.json.123.abcdef01.tmp'), '{');
      writeFileSync(join(dir, 'chains', 'c5', '.privkey.pem.9.0badc0de.tmp'), 'k');
      writeFileSync(join(dir, 'notes.txt'), 'kept');
      // Two levels down in another folder: removed; three levels down: out of reach, kept.
      mkdirSync(join(dir, 'other', 'a', 'b'), { recursive: true });
      writeFileSync(join(dir, 'other', 'a', '.x.1.0badc0de.tmp'), 'x');
      writeFileSync(join(dir, 'other', 'a', 'b', '.y.1.0badc0de.tmp'), 'y');
      const f = fileWith(['c4', 'c5'], { inService: 'c5' }, dir);
      await tidy(dir, f);
      assert.deepEqual(readdirSync(join(dir, 'chains')).sort(), ['c4', 'c5']);
      assert.deepEqual(readdirSync(dir).sort(), ['chains', 'notes.txt', 'other']);
      assert.deepEqual(readdirSync(join(dir, 'other', 'a')), ['b']);
      assert.deepEqual(readdirSync(join(dir, 'other', 'a', 'b')), ['.y.1.0badc0de.tmp']);
      assert.deepEqual(readdirSync(join(dir, 'chains', 'c5')), ['privkey.pem']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('tidyActivateDir removes a killed promotion temp link and temp files, nothing else', () => {
  const dir = tmp();
  try {
    const active = join(dir, 'active');
    mkdirSync(join(`${active}.versions`, 'v1'), { recursive: true });
    writeFileSync(join(`${active}.versions`, 'v1', '.cert.pem.77.12345678.tmp'), 'x');
    writeFileSync(join(`${active}.versions`, 'v1', 'cert.pem'), 'x');
    symlinkSync(join(`${active}.versions`, 'v1'), active);
    symlinkSync(join(`${active}.versions`, 'v1'), `${active}.tmp-4242`);
    writeFileSync(join(dir, 'active2.tmp-1'), 'other service');
    tidyActivateDir(active);
    assert.deepEqual(readdirSync(dir).sort(), ['active', 'active.versions', 'active2.tmp-1']);
    assert.deepEqual(readdirSync(join(`${active}.versions`, 'v1')), ['cert.pem']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('folders writeFileAtomic makes in the state dir are 0700', () => {
  const dir = tmp();
  try {
    const old = process.umask(0o022);
    try {
      writeFileAtomic(join(dir, 'state', 'services', 'mx', 'state.json'), '{}', 0o600);
    } finally {
      process.umask(old);
    }
    for (const d of ['state', 'state/services', 'state/services/mx']) assert.equal(statSync(join(dir, d)).mode & 0o777, 0o700, d);
    assert.ok(existsSync(join(dir, 'state', 'services', 'mx', 'state.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
