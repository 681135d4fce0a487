// The npm tarball as users install it: `npm pack`, then `npm install -g` into an empty prefix,
// offline. It must install no dependency (the bundle carries them), and give the command, the man
// page and the hooks at $(npm root -g)/dane-hook/hooks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertInstalled } from './installed.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-pack-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('npm pack + npm install -g: no dependencies installed; dane-hook, its man page and the hooks work', { timeout: 240_000 }, async () => {
  const pack = await execa('npm', ['pack', '--pack-destination', dir, '--json'], { env: { npm_config_update_notifier: 'false' } });
  const [{ filename, files }] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(files.some((f) => f.path === 'dist/dane-hook.1'), 'the man page is in the tarball');
  const prefix = join(dir, 'prefix');
  await execa('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(dir, filename)], { env: { npm_config_update_notifier: 'false' } });
  const root = (await execa('npm', ['root', '-g', '--prefix', prefix])).stdout.trim();
  assert.equal(root, join(prefix, 'lib', 'node_modules'));
  assert.deepEqual(await readdir(root), ['dane-hook'], 'one package installed, nothing beside it');
  assert.ok(!existsSync(join(root, 'dane-hook', 'node_modules')), 'no dependency installed');
  // npm links the man page from package.json "man" into the prefix's man tree.
  const man = await execa('man', ['--warnings', '-l', join(prefix, 'share', 'man', 'man1', 'dane-hook.1')], { env: { MANWIDTH: '80', LC_ALL: 'C.UTF-8' } });
  assert.equal(man.stderr, '', 'man/groff warnings');
  assert.match(man.stdout, /--tlsa-name VALUE/);
  assert.match(man.stdout, /EXIT STATUS/);
  // Options particular to one command come from that command's own --help.
  for (const flag of ['--resolver', '--max-wait', '--generate-next-key', '--offline', '--selector', '--textfile']) assert.ok(man.stdout.includes(flag), `the man page names ${flag}`);
  await assertInstalled({ bin: join(prefix, 'bin', 'dane-hook'), hooks: join(root, 'dane-hook', 'hooks'), path: `${join(prefix, 'bin')}:/usr/bin:/bin`, dir, version });
});
