// cli/fast-argv.ts against yargs itself: for every call it takes, the handler gets what yargs would
// give it (main.ts' parser, the handler swapped for one that records argv); the calls it leaves to
// yargs are the ones yargs answers otherwise (help, errors) or reads in its own way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../../src/cli/command-list.js';
import { fastArgv, type FastCommand } from '../../src/cli/fast-argv.js';
import { yargsCli } from '../../src/cli/yargs-cli.js';
import { runCli } from '../support/cli.js';

const FAST = Object.entries(COMMANDS)
  .filter(([, e]) => e.fast)
  .map(([name]) => name);

async function commandOf(name: string): Promise<CommandModule & { fast: FastCommand }> {
  return (await COMMANDS[name]!.load()) as CommandModule & { fast: FastCommand };
}

/** What yargs hands the command's handler, or the message it fails with. */
async function viaYargs(words: string[]): Promise<{ argv?: Record<string, unknown>; error?: string }> {
  const wanted = words.find((w) => !w.startsWith('-'));
  let argv: Record<string, unknown> | undefined;
  const cli = await yargsCli(words, wanted, async (name) => ({ ...(await COMMANDS[name]!.load()), handler: (a: Record<string, unknown>) => void (argv = a) }));
  try {
    await cli.parseAsync();
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { argv };
}

const without$0 = (a: Record<string, unknown>) => Object.fromEntries(Object.entries(a).filter(([k]) => k !== '$0'));

async function same(words: string[]): Promise<boolean> {
  const name = words[0]!;
  const fast = fastArgv(words, name, (await commandOf(name)).fast);
  if (fast === undefined) return false;
  const y = await viaYargs(words);
  assert.equal(y.error, undefined, `yargs refuses what the fast path takes: ${JSON.stringify(words)}: ${y.error}`);
  assert.deepEqual(without$0(fast), without$0(y.argv!), JSON.stringify(words));
  return true;
}

test('the hook and timer lines of the README take the fast path, with what yargs would give', async () => {
  const lines = [
    ['advance', '--quiet', '--config', '/etc/dane-hook/config.json'],
    ['advance', '--wait', '--max-wait', '20', '--state-dir', '/var/lib/dane-hook', '--emit-format', 'json'],
    ['deploy', '--spool', '--quiet', '--config', '/etc/dane-hook/config.json'],
    ['deploy', '--quiet', '--config', 'c.json', '--', 'deploy_cert', 'mx.example.com', 'k.pem', 'c.pem', 'f.pem', 'ch.pem', '1700000000'],
    ['deploy', 'deploy_cert', 'mx.example.com', 'k.pem', 'c.pem', 'f.pem', 'ch.pem', '0123'],
    ['deploy', '--lineage', '/etc/letsencrypt/live/mx', '--tlsa-name', '_25._tcp.mx.example.com', '--tlsa-name', '_465._tcp.mx.example.com', '--records', '3 1 1', '--dns', 'nsupdate', '--server', 'ns1:5353', '--tsig-key=/etc/k.key', '-q'],
    ['pre-renew', '--generate-next-key', '--next-key', '/etc/dane-hook/next.pem', '--verbose'],
    ['status', '--json', '--offline', '--state-dir', '/tmp/st', '--id', 'mx'],
    ['status', '--tlsa-name='],
  ];
  for (const words of lines) assert.ok(await same(words), `fast path not taken: ${words.join(' ')}`);
});

test('help, version, unknown or misspelt flags, missing values, bad choices, a boolean given a value are left to yargs', async () => {
  const calls = [
    ['advance', '--help'],
    ['advance', '-h'],
    ['advance', '--version'],
    ['advance', '--bogus'],
    ['advance', '--dryRun'],
    ['advance', '--no-quiet'],
    ['advance', '--quiet=true'],
    ['advance', '--config'],
    ['advance', '--state-dir', '-x'],
    ['advance', '--max-wait', 'soon'],
    ['advance', '--dns', 'bind'],
    ['advance', 'extra'],
    ['advance', '--config', 'a', '--config', 'b'],
    ['--quiet', 'advance'],
    ['pre-renew', 'word'],
    ['deploy', '--force', 'false'],
    ['deploy', '-q', 'true', 'deploy_cert'],
    ['deploy', '-'],
  ];
  for (const words of calls) assert.equal(fastArgv(words, words.find((w) => !w.startsWith('-'))!, (await commandOf(words.find((w) => !w.startsWith('-'))!)).fast), undefined, words.join(' '));
});

test('property: random calls of each fast command are either left to yargs or read as yargs reads them', async () => {
  const valued = ['config', 'id', 'tlsa-name', 'records', 'ttl', 'state-dir', 'zone', 'auth-server', 'server', 'cert', 'max-wait', 'emit-format', 'dns', 'next-key'];
  const bools = ['quiet', 'json', 'dry-run', 'force', 'verbose', 'wait', 'spool', 'offline', 'generate-next-key'];
  const value = fc.oneof(fc.constantFrom('x', '', '0123', '3 1 1', '-1', '20', 'json', 'nsupdate', 'a=b', 'deploy_cert', '--', '-q'), fc.string({ maxLength: 4 }));
  const word = fc.oneof(
    fc.constantFrom(...bools).map((b) => [`--${b}`]),
    fc.constantFrom('-q', '--', 'word', '--bogus', 'true', 'false', '-', 'deploy_cert').map((w) => [w]),
    fc.tuple(fc.constantFrom(...valued), value).map(([f, v]) => [`--${f}`, v]),
    fc.tuple(fc.constantFrom(...valued), value).map(([f, v]) => [`--${f}=${v}`]),
  );
  let taken = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...FAST), fc.array(word, { maxLength: 6 }), async (name, parts) => {
      if (await same([name, ...parts.flat()])) taken++;
    }),
    { numRuns: 400 },
  );
  // The property must not hold by leaving every call to yargs.
  assert.ok(taken > 40, `only ${taken} of 400 random calls took the fast path`);
});

test("dehydrated's words reach deploy with or without `--`, on the fast path and through yargs", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dane-fast-argv-'));
  try {
    // An event other than deploy_cert: exit 0, nothing printed, nothing read (there is no config here).
    for (const words of [
      ['deploy', 'startup_hook'],
      ['deploy', '--', 'startup_hook'],
      ['deploy', '--no-quiet', 'startup_hook'], // not plain: yargs reads it
      ['deploy', '--no-quiet', '--', 'startup_hook'],
    ]) {
      const r = await runCli([...words, '--state-dir', join(dir, 'st')], { cwd: dir, env: { DANE_HOOK_CONFIG: '' } });
      assert.deepEqual([r.exitCode, r.stdout, r.stderr], [0, '', ''], words.join(' '));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
