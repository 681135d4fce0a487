// The real-folder activate dir is not atomic: a warning says so; the symlink form (and a dir not
// made yet) gets none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activateDirWarning } from '../../src/state/activate-form.js';

test('a real folder is warned about; a symlink or an absent dir is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dane-form-'));
  try {
    mkdirSync(join(dir, 'real'));
    mkdirSync(join(dir, 'v1'));
    symlinkSync(join(dir, 'v1'), join(dir, 'link'));
    assert.match(activateDirWarning(join(dir, 'real'))!, /is a real folder: .*a certificate beside another chain's key/);
    assert.equal(activateDirWarning(join(dir, 'link')), undefined);
    assert.equal(activateDirWarning(join(dir, 'absent')), undefined);
    assert.equal(activateDirWarning(undefined), undefined);
    assert.match(activateDirWarning(join(dir, 'real'))!, new RegExp(`^activate dir ${join(dir, 'real')} `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
