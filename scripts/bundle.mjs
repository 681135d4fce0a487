// Bundles the CLI into one ESM file: one file to read at start-up is what keeps cold start near
// the openssl pipeline's (see bench/). Type checking is tsc's job; this only packs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
// The build: a hash of the sources (the same sources, the same id: reproducible), for caches that
// another build must not trust (src/engine/idle-memo.ts).
const sources = readdirSync('src', { recursive: true }).filter((f) => String(f).endsWith('.ts')).map(String).sort();
const buildId = sources.reduce((h, f) => h.update(f).update('\0').update(readFileSync(join('src', f))).update('\0'), createHash('sha256')).digest('hex').slice(0, 16);
// Chunk names carry content hashes: start clean so no stale chunk is shipped.
rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: { 'dane-hook': 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // Split chunks: yargs, execa and the other commands sit in files that `tlsa` never reads.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // yargs' CommonJS parts call require(): give the ESM bundle a real one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  // The bundle has no package.json beside it: the version is written in.
  define: { __DANE_HOOK_VERSION__: JSON.stringify(version), __DANE_HOOK_BUILD__: JSON.stringify(`${version}+${buildId}`) },
  logLevel: 'warning',
});
// The entry alone is run as a program: only it gets the #! line (a chunk with one would be a
// script that is not executable, to lintian and to anyone reading it).
writeFileSync('dist/dane-hook.mjs', `#!/usr/bin/env node\n${readFileSync('dist/dane-hook.mjs', 'utf8')}`);
chmodSync('dist/dane-hook.mjs', 0o755);

// dane-hook(1) from the same tables as --help (tsc has just built them under build/).
const { manPage } = await import('../build/src/cli/manpage.js');
const epoch = process.env.SOURCE_DATE_EPOCH;
const day = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().slice(0, 10);
// Each command's --help, from the bundle just built: the page carries it word for word.
const { COMMANDS } = await import('../build/src/cli/command-list.js');
const help = {};
for (const name of Object.keys(COMMANDS)) {
  const r = spawnSync(process.execPath, ['dist/dane-hook.mjs', name, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } });
  if (r.status !== 0) throw new Error(`dane-hook ${name} --help failed (exit ${r.status}): ${r.stderr}`);
  help[name] = r.stdout;
}
writeFileSync('dist/dane-hook.1', manPage(version, day, help));
