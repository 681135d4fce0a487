// `npm run deb`: dane-hook_<version>_all.deb from the built dist/, with dpkg-deb alone (no network,
// no root: --root-owner-group makes every file root's in the archive). Layout (Debian policy):
//   /usr/bin/dane-hook                    a two-line wrapper that runs the bundle with /usr/bin/node
//   /usr/lib/dane-hook/                   the bundle and its chunks
//   /usr/share/dane-hook/hooks/           the ACME client hook shims
//   /lib/systemd/system/                  the advance service and timer (installed, not enabled)
//   /usr/share/man/man1/dane-hook.1.gz    the man page (made by the build from the flag table)
//   /usr/share/doc/dane-hook/             copyright, changelog.gz
// Usage: node scripts/deb.mjs [OUTDIR]   (default: the current directory); prints the .deb's path.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const outDir = resolve(process.argv[2] ?? '.');
if (!existsSync('dist/dane-hook.mjs') || !existsSync('dist/dane-hook.1')) {
  console.error('deb: dist/ is not built: run npm run build first');
  process.exit(2);
}

const MAINTAINER = 'dane-hook maintainers <maintainers@users.noreply.r-seed-28afa4c9.example>';
// Reproducible: every date in the package is the last commit's, or SOURCE_DATE_EPOCH's.
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? (gitDate() || Math.floor(Date.now() / 1000)));
const stage = mkdtempSync(join(tmpdir(), 'dane-hook-deb-'));
const root = join(stage, 'root');

function gitDate() {
  try {
    return execFileSync('git', ['log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function put(path, content, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

const gz = (text) => gzipSync(Buffer.from(text), { level: 9 }); // gzip -9n: no name, no time stamp

/** Every file under dir, relative, sorted. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)).map((f) => join(e.name, f)) : [e.name]))
    .sort();
}

try {
  put('usr/bin/dane-hook', '#!/bin/sh\nexec /usr/bin/node /usr/lib/dane-hook/dane-hook.mjs "$@"\n', 0o755);
  for (const f of walk('dist')) if (f !== 'dane-hook.1') put(join('usr/lib/dane-hook', f), readFileSync(join('dist', f)), f === 'dane-hook.mjs' ? 0o755 : 0o644);
  cpSync('hooks', join(root, 'usr/share/dane-hook/hooks'), { recursive: true });
  for (const f of walk(join(root, 'usr/share/dane-hook/hooks'))) {
    const p = join(root, 'usr/share/dane-hook/hooks', f);
    chmodSync(p, statSync(p).mode & 0o111 ? 0o755 : 0o644);
  }
  for (const unit of ['dane-hook-advance.service', 'dane-hook-advance.timer']) put(join('lib/systemd/system', unit), readFileSync(join('hooks/systemd', unit)));
  put('usr/share/man/man1/dane-hook.1.gz', gz(readFileSync('dist/dane-hook.1', 'utf8')));
  put(
    'usr/share/doc/dane-hook/copyright',
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: dane-hook',
      '',
      'Files: *',
      `Copyright: ${new Date(epoch * 1000).getUTCFullYear()} dane-hook maintainers`,
      `License: ${pkg.license}`,
      '',
      `License: ${pkg.license}`,
      ' Permission is hereby granted, free of charge, to any person obtaining a copy of this software',
      ' and associated documentation files (the "Software"), to deal in the Software without',
      ' restriction, including without limitation the rights to use, copy, modify, merge, publish,',
      ' distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the',
      ' Software is furnished to do so, subject to the following conditions:',
      ' .',
      ' The above copyright notice and this permission notice shall be included in all copies or',
      ' substantial portions of the Software.',
      ' .',
      ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING',
      ' BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND',
      ' NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,',
      ' DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,',
      ' OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.',
      '',
    ].join('\n'),
  );
  const stamp = new Date(epoch * 1000).toUTCString().replace('GMT', '+0000');
  put(
    'usr/share/doc/dane-hook/changelog.gz',
    gz(`dane-hook (${pkg.version}) unstable; urgency=medium\n\n  * Release ${pkg.version}: built from the npm package of the same version.\n\n -- ${MAINTAINER}  ${stamp}\n`),
  );

  const files = walk(root);
  const size = Math.ceil(files.reduce((n, f) => n + statSync(join(root, f)).size, 0) / 1024);
  const control = [
    'Package: dane-hook',
    `Version: ${pkg.version}`,
    'Architecture: all',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${size}`,
    'Depends: nodejs (>= 20.19)',
    'Recommends: bind9-dnsutils, openssl',
    'Section: net',
    'Priority: optional',
    `Description: ${pkg.description.split(':')[0]}`,
    ' dane-hook publishes the TLSA records of a renewed certificate before it goes',
    ' into service, holds it back until the records are served by every',
    ' authoritative server for two TTLs, and withdraws stale records. It runs as',
    ' a certbot, acme.sh, dehydrated or lego hook and from a systemd timer.',
    '',
  ].join('\n');
  put('DEBIAN/control', control);
  put('DEBIAN/md5sums', files.map((f) => `${createHash('md5').update(readFileSync(join(root, f))).digest('hex')}  ${f}\n`).join(''));
  for (const d of walk(root).map((f) => join(root, f, '..'))) chmodSync(d, 0o755);

  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `dane-hook_${pkg.version}_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
  console.log(relative(process.cwd(), deb) || deb);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
