// The Debian package: `npm run deb` builds it with dpkg-deb (no root, no network), lintian finds no
// error, `dpkg -i` installs it on this machine (the tests run as root on CI), the installed
// /usr/bin/dane-hook and a hook shim under /usr/share/dane-hook/hooks work, and `dpkg -r` removes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { requireTool } from '../support/tools.js';
import { assertInstalled } from './installed.js';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir: string;
let installed = false;

/** dpkg, waiting while another dpkg/apt run holds its lock (other test runs on the machine). */
async function dpkg(args: string[]) {
  for (let i = 0; ; i++) {
    const r = await execa(requireTool('dpkg'), args, { reject: false });
    if (r.exitCode === 0 || i >= 60 || !/lock/i.test(r.stderr)) return r;
    await sleep(1000);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-deb-'));
});
after(async () => {
  if (installed) await dpkg(['-r', 'dane-hook']);
  await rm(dir, { recursive: true, force: true });
});

test('npm run deb: lintian-clean; dpkg -i installs a working dane-hook and hooks; dpkg -r removes it', { timeout: 300_000 }, async () => {
  requireTool('dpkg-deb');
  const built = await execa('node', ['scripts/deb.mjs', dir]);
  const deb = join(dir, `dane-hook_${version}_all.deb`);
  assert.ok(existsSync(deb), built.stdout);
  const info = (await execa('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Architecture', 'Depends'])).stdout;
  assert.equal(info, `Package: dane-hook\nVersion: ${version}\nArchitecture: all\nDepends: nodejs (>= 20.19)`);
  const list = (await execa('dpkg-deb', ['--contents', deb])).stdout;
  for (const path of ['./usr/bin/dane-hook', './usr/lib/dane-hook/dane-hook.mjs', './usr/share/dane-hook/hooks/certbot/deploy', './lib/systemd/system/dane-hook-advance.timer', './usr/share/man/man1/dane-hook.1.gz', './usr/share/doc/dane-hook/copyright', './usr/share/doc/dane-hook/changelog.gz']) {
    assert.match(list, new RegExp(` root/root .* ${path.replace(/\./g, '\\.')}$`, 'm'), path);
  }
  const lint = await execa(requireTool('lintian'), ['--fail-on', 'error', deb], { reject: false });
  assert.equal(lint.exitCode, 0, lint.stdout + lint.stderr);
  assert.doesNotMatch(lint.stdout, /^E: /m);

  assert.equal(process.getuid?.(), 0, 'dpkg -i needs root (CI runs the tests as root)');
  const before = await execa('dpkg-query', ['-W', '-f=${Status}', 'dane-hook'], { reject: false });
  assert.ok(!before.stdout.includes('install ok installed'), 'dane-hook is already installed as a package on this machine: not touching it');
  const inst = await dpkg(['-i', deb]);
  assert.equal(inst.exitCode, 0, inst.stderr);
  installed = true;
  // Installed, not enabled: no unit of dane-hook is linked into a target.
  assert.ok(!existsSync('/etc/systemd/system/timers.target.wants/dane-hook-advance.timer'));
  await assertInstalled({ bin: '/usr/bin/dane-hook', hooks: '/usr/share/dane-hook/hooks', path: '/usr/bin:/bin', dir, version });
  const rm_ = await dpkg(['-r', 'dane-hook']);
  assert.equal(rm_.exitCode, 0, rm_.stderr);
  installed = false;
  assert.ok(!existsSync('/usr/bin/dane-hook') && !existsSync('/usr/lib/dane-hook'), 'dpkg -r removed the files');
});
