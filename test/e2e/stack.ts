// The whole loopback stack of the e2e tests: named (DNSSEC, TSIG updates, TTL 1 s), a validating
// unbound in front of it, pebble, the TLS server reading dane-hook's activate dir, a `dane-hook`
// program for the hook shims (DANE_HOOK) and a config file for them (DANE_HOOK_CONFIG).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../support/bind.js';
import { startPebble, type Pebble, type PebbleOptions } from '../support/pebble.js';
import { describeFailures, startProbe, type Probe, type ProbeCheck } from '../support/probe.js';
import { CLI, runCli, type CliResult } from '../support/cli.js';
import { openssl, spkiHash } from '../support/pki.js';
import { startResolver, type Resolver } from './resolver.js';
import { startServedTls, type ServedTls } from './served.js';

export const HOST = 'mx.example.test';
export const NAME = `_25._tcp.${HOST}`;
/** The hook shims, as shipped. */
export const HOOKS = join(CLI, '..', '..', 'hooks');

export interface Stack {
  dir: string;
  bind: BindServer;
  resolver: Resolver;
  pebble: Pebble;
  served: ServedTls;
  stateDir: string;
  activeDir: string;
  /** An executable that runs the built CLI (what DANE_HOOK names for the shims). */
  daneHook: string;
  /** A config file for the shims, describing the same service as flags(). */
  config: string;
  /** Environment for the shims: DANE_HOOK and DANE_HOOK_CONFIG. */
  hookEnv: Record<string, string>;
  /** The service as flags: TLSA name, TTL 1, nsupdate with TSIG, state dir, activate dir, reload. */
  flags(): string[];
  cli(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** TLSA records at NAME as the primary serves them ("u s m hex", lower case, sorted). */
  tlsa(): Promise<string[]>;
  /** A DANE probe through the validating resolver; `usages` restricts the records it uses. */
  probe(usages?: string[], clientArgs?: string[]): Probe;
  /** Replaces pebble by a fresh start (a new root and intermediate), optionally with another certificate validity. */
  restartPebble(opts?: PebbleOptions): Promise<void>;
  stop(): Promise<void>;
}

export { spkiHash } from '../support/pki.js';

/** The same for PEM text (e.g. pebble's intermediate from its management interface). */
export async function spkiHashOfPem(pem: string): Promise<string> {
  const pub = await openssl(['x509', '-noout', '-pubkey'], pem);
  const der = await openssl(['pkey', '-pubin', '-outform', 'der'], pub);
  return (await openssl(['dgst', '-sha256', '-r'], der)).toString().split(' ')[0]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `pebble`: options of the first pebble start (e.g. short-lived certificates). */
export interface StackOptions {
  pebble?: PebbleOptions;
  /** The zone's TTLs (default 1 s). */
  ttl?: number;
  /** Serve activeDir/rsa and activeDir/ecdsa as s_server -cert/-dcert (a service with lineages). */
  lineages?: boolean;
}

export async function startStack(name: string, opts: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), `dane-e2e-${name}-`));
  const parts: { stop(): Promise<void> }[] = [];
  try {
    const [bind, pebble0] = await Promise.all([startBind({ ttl: opts.ttl ?? 1 }), startPebble(opts.pebble)]);
    parts.push(bind, pebble0);
    const resolver = await startResolver(bind);
    parts.push(resolver);
    const stateDir = join(dir, 'state');
    const activeDir = join(dir, 'active');
    const served = opts.lineages ? await startServedTls(join(activeDir, 'rsa'), dir, { secondDir: join(activeDir, 'ecdsa') }) : await startServedTls(activeDir, dir);
    parts.push(served);
    const daneHook = join(dir, 'dane-hook');
    await writeFile(daneHook, `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
    await chmod(daneHook, 0o755);
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({
      stateDir,
      dns: { backend: 'nsupdate', server: bind.address, tsigKey: bind.tsigKeyFile },
      services: [{ tlsaNames: [NAME], ttl: 1, activateDir: activeDir, reload: served.reloadCommand }],
    }, null, 2));
    let pebble = pebble0;
    const stack: Stack = {
      dir, bind, resolver, served, stateDir, activeDir, daneHook, config,
      get pebble() {
        return pebble;
      },
      hookEnv: { DANE_HOOK: daneHook, DANE_HOOK_CONFIG: config },
      flags: () => ['--tlsa-name', NAME, '--ttl', '1', '--dns', 'nsupdate', '--server', bind.address, '--tsig-key', bind.tsigKeyFile,
        '--state-dir', stateDir, '--activate-dir', activeDir, '--reload', served.reloadCommand],
      cli: (args, timeoutMs) => runCli(args, { timeoutMs }),
      tlsa: async () => (await bind.dig(['+short', '+split=0', 'TLSA', `${NAME}.`])).trim().split('\n').filter(Boolean).map((l) => l.toLowerCase()).sort(),
      probe: (usages?: string[], clientArgs?: string[]) => startProbe({ resolverPort: resolver.port, tlsaName: NAME, host: HOST, port: served.port, usages, clientArgs }),
      async restartPebble(again = opts.pebble) {
        await pebble.stop();
        pebble = await startPebble(again);
      },
      async stop() {
        await Promise.allSettled([served.stop(), resolver.stop(), pebble.stop(), bind.stop()]);
        await rm(dir, { recursive: true, force: true });
      },
    } as Stack;
    return stack;
  } catch (e) {
    await Promise.allSettled(parts.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The records a chain should have: 3 1 1 of the leaf, 2 1 1 of its issuer (both by openssl). */
export async function expectedRecords(cert: string, issuerPem: string): Promise<string[]> {
  return [`2 1 1 ${await spkiHashOfPem(issuerPem)}`, `3 1 1 ${await spkiHash(cert)}`].sort();
}

/** One shell word (certbot runs its hooks through /bin/sh). */
export const shellQuote = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
export const shellLine = (words: string[]): string => words.map(shellQuote).join(' ');

/** certbot ignores a failing hook: its output is the only sign. */
export function assertHookClean(r: { exitCode: number; stdout: string; stderr: string }, log: string): void {
  assert.equal(r.exitCode, 0, `certbot exit ${r.exitCode}:\n${r.stderr}\n${log}`);
  assert.doesNotMatch(r.stderr, /reported error code|ran with error output/, `a hook failed:\n${r.stderr}`);
}

/** Stops the probe and asserts: no failure ever, and it saw every one of `spkis` served and verified. */
export async function assertProbeClean(probe: Probe, spkis: string[]): Promise<ProbeCheck[]> {
  const checks = await probe.stop();
  assert.deepEqual(probe.failures().map((c) => c.kind), [], describeFailures(checks));
  const seen = new Set(checks.filter((c) => c.kind === 'ok').map((c) => c.servedSpki));
  for (const k of spkis) assert.ok(seen.has(k), `the probe never verified the chain with key ${k.slice(0, 16)}: ${checks.length} checks`);
  return checks;
}
