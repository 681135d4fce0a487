// The bundle's chunk graph: the commands that start no child process (tlsa, check, status) do not
// reach execa through static imports; it is loaded on demand (src/child-process.ts). Checked on
// the built dist/ twice: by reading the chunks' imports, and by running the commands under a
// module loader hook that lists every file Node loads.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { CLI } from '../support/cli.js';

const DIST = dirname(CLI);
const chunkFile = (spec: string) => join(DIST, spec.startsWith('./chunks/') ? spec : join('chunks', spec));

function imports(file: string): { statics: string[]; dynamics: string[] } {
  const text = readFileSync(file, 'utf8');
  const statics = [...text.matchAll(/\bfrom\s*"(\.\/[^"]+\.mjs)"/g)].map((m) => chunkFile(m[1]!));
  const dynamics = [...text.matchAll(/\bimport\("(\.\/[^"]+\.mjs)"\)/g)].map((m) => chunkFile(m[1]!));
  return { statics, dynamics };
}

/** Every file `entry` loads through static imports. */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    imports(f).statics.forEach(walk);
  };
  walk(entry);
  return seen;
}

const commandChunk = (command: string): string => {
  const found = imports(CLI).dynamics.find((f) => new RegExp(`/${command}-[A-Z0-9]+\\.mjs$`).test(f));
  assert.ok(found, `the entry imports a ${command} chunk`);
  return found!;
};

describe('bundle chunk graph (built dist/)', () => {
  test('execa sits in its own chunk, reached only by a dynamic import', () => {
    const chunks = readdirSync(join(DIST, 'chunks')).map((f) => join(DIST, 'chunks', f));
    const execaChunk = chunks.find((f) => /\/execa-[A-Z0-9]+\.mjs$/.test(f));
    assert.ok(execaChunk, 'an execa chunk exists');
    assert.ok(chunks.some((f) => imports(f).dynamics.includes(execaChunk!)), 'some chunk imports it on demand');
    assert.ok(chunks.every((f) => !imports(f).statics.includes(execaChunk!)), 'no chunk imports it statically');
  });

  for (const command of ['tlsa', 'check', 'status']) {
    test(`${command}: its static closure holds no execa chunk`, () => {
      const files = [...closure(CLI), ...closure(commandChunk(command))];
      assert.deepEqual(files.filter((f) => /\/execa-/.test(f)), []);
    });
  }
  test('deploy and advance do reach the execa chunk (on demand): the check above can see it', () => {
    for (const command of ['deploy', 'advance']) {
      const files = closure(commandChunk(command));
      assert.ok([...files].some((f) => imports(f).dynamics.some((d) => /\/execa-/.test(d))), command);
    }
  });
});

describe('modules Node loads per command (real runs under a loader hook)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dane-hook-bundle-'));
    await writeFile(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.LOAD_LOG, url + '\\n');\n  return next(url, context);\n}\n`,
    );
    await writeFile(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const loaded = async (args: string[]): Promise<string[]> => {
    const log = join(dir, `${args[0]}.log`);
    await writeFile(log, '');
    await execa(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, CLI, ...args], { reject: false, env: { LOAD_LOG: log }, timeout: 30_000 });
    return (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes('/dist/'));
  };

  test('status and check load no execa chunk', async () => {
    const state = join(dir, 'state');
    const status = await loaded(['status', '--state-dir', state]);
    assert.ok(status.some((u) => /\/status-/.test(u)), 'the status chunk was loaded');
    assert.deepEqual(status.filter((u) => /execa-/.test(u)), []);
    const check = await loaded(['check', '--tlsa-name', '_25._tcp.mx.example.test', '--server', '127.0.0.1:1', '--timeout', '1']);
    assert.ok(check.some((u) => /\/check-/.test(u)), 'the check chunk was loaded');
    assert.deepEqual(check.filter((u) => /execa-/.test(u)), []);
  });
});
