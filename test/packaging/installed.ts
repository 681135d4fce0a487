// What an installed dane-hook must do, wherever it was installed from (npm tarball, .deb): print
// its version, and run a hook shim as certbot runs it (the deploy hook, with RENEWED_LINEAGE) so
// that the shim finds the installed program on PATH. The emit backend keeps DNS out of it: the
// printed nsupdate script must carry the certificate's 3 1 1, as the openssl pipeline computes it.
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { makePki, spkiHash } from '../support/pki.js';

export async function assertInstalled(opts: { bin: string; hooks: string; path: string; dir: string; version: string }): Promise<void> {
  const v = await execa(opts.bin, ['--version'], { reject: false, env: { PATH: opts.path }, extendEnv: false });
  assert.equal(v.exitCode, 0, v.stderr);
  assert.equal(v.stdout.trim(), opts.version);

  const pki = await makePki(join(opts.dir, 'pki'), { kinds: ['ec-p256'], host: 'mx.example.test' });
  const leaf = pki.leaves['ec-p256'];
  const lineage = join(opts.dir, 'live', 'mx.example.test');
  await mkdir(lineage, { recursive: true });
  for (const [from, to] of [[leaf.cert, 'cert.pem'], [leaf.chain, 'chain.pem'], [leaf.fullchain, 'fullchain.pem'], [leaf.key, 'privkey.pem']] as const) await copyFile(from, join(lineage, to));
  const config = join(opts.dir, 'config.json');
  await writeFile(config, JSON.stringify({ stateDir: join(opts.dir, 'state'), defaults: { records: ['3 1 1'] }, services: [{ tlsaNames: ['_25._tcp.mx.example.test'], lineage }] }));
  const hook = await execa(join(opts.hooks, 'certbot', 'deploy'), [], {
    reject: false,
    extendEnv: false,
    env: { PATH: opts.path, DANE_HOOK_CONFIG: config, RENEWED_LINEAGE: lineage, RENEWED_DOMAINS: 'mx.example.test' },
  });
  assert.equal(hook.exitCode, 0, hook.stderr);
  assert.match(hook.stdout, new RegExp(`^update add _25\\._tcp\\.mx\\.example\\.test\\. 3600 IN TLSA 3 1 1 ${await spkiHash(leaf.cert)}$`, 'm'));
}
