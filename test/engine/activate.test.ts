// Staged mode's activate dir keeps the owner and mode services were given: a key read by its
// service as root:ssl-cert 0640 stays readable after every promotion. Runs as root (chown).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeActivateDir } from '../../src/engine/activate.js';

const NAMES = ['privkey.pem', 'cert.pem', 'chain.pem', 'fullchain.pem'];
const OTHER = 65534; // nobody / nogroup

function chainDir(root: string, tag: string): string {
  const d = join(root, 'chains', tag);
  mkdirSync(d, { recursive: true });
  for (const n of NAMES) writeFileSync(join(d, n), `${tag} ${n}\n`, { mode: 0o600 });
  return d;
}

const owner = (p: string) => {
  const st = statSync(p);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
};

describe('writeActivateDir keeps owners and modes', () => {
  let dir: string;
  before(() => {
    assert.equal(process.getuid?.(), 0, 'these tests chown files: run them as root');
    dir = mkdtempSync(join(tmpdir(), 'dane-activate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a real activate dir: each replaced file keeps its uid, gid and mode', async () => {
    const active = join(dir, 'real');
    mkdirSync(active);
    const given: Record<string, { mode: number; uid: number; gid: number }> = {
      'privkey.pem': { mode: 0o640, uid: 0, gid: OTHER },
      'cert.pem': { mode: 0o644, uid: OTHER, gid: OTHER },
      'chain.pem': { mode: 0o604, uid: OTHER, gid: 0 },
      'fullchain.pem': { mode: 0o444, uid: 0, gid: 0 },
    };
    for (const n of NAMES) {
      const p = join(active, n);
      writeFileSync(p, 'old\n');
      chownSync(p, given[n]!.uid, given[n]!.gid);
      chmodSync(p, given[n]!.mode);
    }
    await writeActivateDir(chainDir(dir, 'a'), active);
    for (const n of NAMES) {
      assert.equal(readFileSync(join(active, n), 'utf8'), `a ${n}\n`);
      assert.deepEqual(owner(join(active, n)), given[n], n);
    }
  });

  test('a real activate dir with a file missing: that one gets the default mode (key 0600)', async () => {
    const active = join(dir, 'real-partial');
    mkdirSync(active);
    await writeActivateDir(chainDir(dir, 'b'), active);
    assert.deepEqual(owner(join(active, 'privkey.pem')), { mode: 0o600, uid: 0, gid: 0 });
    assert.deepEqual(owner(join(active, 'cert.pem')), { mode: 0o644, uid: 0, gid: 0 });
  });

  test('symlink mode: the first version has the default modes, the next copies the live one\'s owner and mode', async () => {
    const active = join(dir, 'linked');
    await writeActivateDir(chainDir(dir, 'c'), active);
    assert.deepEqual(owner(join(active, 'privkey.pem')), { mode: 0o600, uid: 0, gid: 0 });
    assert.deepEqual(owner(join(active, 'cert.pem')), { mode: 0o644, uid: 0, gid: 0 });
    // The admin lets the service's group read the key (through the link: the live version's file).
    chownSync(join(active, 'privkey.pem'), 0, OTHER);
    chmodSync(join(active, 'privkey.pem'), 0o640);
    chownSync(join(active, 'cert.pem'), OTHER, OTHER);
    await writeActivateDir(chainDir(dir, 'd'), active);
    assert.equal(readFileSync(join(active, 'privkey.pem'), 'utf8'), 'd privkey.pem\n');
    assert.deepEqual(owner(join(active, 'privkey.pem')), { mode: 0o640, uid: 0, gid: OTHER });
    assert.deepEqual(owner(join(active, 'cert.pem')), { mode: 0o644, uid: OTHER, gid: OTHER });
    assert.deepEqual(owner(join(active, 'chain.pem')), { mode: 0o644, uid: 0, gid: 0 });
  });
});
