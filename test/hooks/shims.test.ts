// The hooks/ shims, run by sh as each ACME client runs them, with a stand-in `dane-hook` (a tiny
// script that records its argv and environment) in place of the CLI. Also: `sh -n` on every shim,
// and `systemd-analyze verify` on the systemd units when systemd-analyze is present (it is not a
// tool dane-hook installs; where it is missing only that one assertion is not made, in the same test).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, constants, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { findTool } from '../support/tools.js';

const HOOKS = resolve('hooks');
const SHIMS = ['certbot/pre', 'certbot/deploy', 'certbot/deploy-spool', 'certbot/post', 'acme.sh/reload', 'acme.sh/pre', 'dehydrated/hook.sh', 'lego/renew-hook'];
const CONFIG = '/etc/dane-hook/config.json';

let dir: string;
let fakeDir: string;
let record: string;

// The stand-in: one argument per line between markers, then the variables the hook should see.
const FAKE = `#!/bin/sh
{
  echo "ARGV-BEGIN"
  for a in "$@"; do printf '%s\\n' "$a"; done
  echo "ARGV-END"
  echo "NAME=$0"
  env | grep -E '^(RENEWED_|CERT_|CA_CERT_PATH|Le_|DOMAIN_PATH|LEGO_|PRIVATE_KEY_ROLLOVER)' | sort
} > "$RECORD"
exit "\${FAKE_EXIT:-0}"
`;

interface Call {
  argv: string[];
  name: string;
  env: Record<string, string>;
}

async function readCall(): Promise<Call | undefined> {
  if (!existsSync(record)) return undefined;
  const lines = (await readFile(record, 'utf8')).split('\n');
  await rm(record);
  const end = lines.indexOf('ARGV-END');
  const env: Record<string, string> = {};
  for (const l of lines.slice(end + 2)) if (l.includes('=')) env[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
  return { argv: lines.slice(1, end), name: lines[end + 1]!.slice(5), env };
}

async function run(shim: string, args: string[] = [], env: Record<string, string> = {}) {
  const r = await execa('sh', [join(HOOKS, shim), ...args], {
    env: { PATH: `${fakeDir}:${process.env.PATH}`, RECORD: record, ...env },
    extendEnv: false,
    reject: false,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, call: await readCall() };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-shims-'));
  fakeDir = join(dir, 'bin');
  await execa('mkdir', ['-p', fakeDir]);
  await writeFile(join(fakeDir, 'dane-hook'), FAKE);
  await chmod(join(fakeDir, 'dane-hook'), 0o755);
  await writeFile(join(dir, 'other-dane-hook'), FAKE);
  await chmod(join(dir, 'other-dane-hook'), 0o755);
  record = join(dir, 'record');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hook shims', () => {
  test('every shim parses with sh -n, starts with #!/bin/sh, is executable and says how to install it', async () => {
    for (const shim of SHIMS) {
      const path = join(HOOKS, shim);
      const r = await execa('sh', ['-n', path], { reject: false });
      assert.equal(r.exitCode, 0, `${shim}: ${r.stderr}`);
      const text = await readFile(path, 'utf8');
      assert.ok(text.startsWith('#!/bin/sh\n'), shim);
      assert.match(text, /Install/, shim);
      await access(path, constants.X_OK);
      assert.ok(((await stat(path)).mode & 0o111) === 0o111, `${shim} is not executable by all`);
    }
  });

  test('certbot deploy: dane-hook deploy --quiet --config, certbot environment passed through', async () => {
    const r = await run('certbot/deploy', [], { RENEWED_LINEAGE: '/etc/letsencrypt/live/mx.example.com', RENEWED_DOMAINS: 'mx.example.com smtp.example.com' });
    assert.equal(r.code, 0);
    assert.deepEqual(r.call!.argv, ['deploy', '--quiet', '--config', CONFIG]);
    assert.equal(r.call!.name, join(fakeDir, 'dane-hook'));
    assert.equal(r.call!.env.RENEWED_DOMAINS, 'mx.example.com smtp.example.com');
  });

  test('certbot bulk mode: deploy-spool records (deploy --spool), post runs advance once', async () => {
    const r = await run('certbot/deploy-spool', [], { RENEWED_LINEAGE: '/etc/letsencrypt/live/mx.example.com', RENEWED_DOMAINS: 'mx.example.com' });
    assert.equal(r.code, 0);
    assert.deepEqual(r.call!.argv, ['deploy', '--spool', '--quiet', '--config', CONFIG]);
    assert.equal(r.call!.env.RENEWED_LINEAGE, '/etc/letsencrypt/live/mx.example.com');
    const post = await run('certbot/post');
    assert.deepEqual(post.call!.argv, ['advance', '--quiet', '--config', CONFIG]);
  });

  test('certbot pre: pre-renew; $DANE_HOOK and $DANE_HOOK_CONFIG override program and config', async () => {
    const r = await run('certbot/pre', [], { DANE_HOOK: join(dir, 'other-dane-hook'), DANE_HOOK_CONFIG: '/srv/dh.json' });
    assert.deepEqual(r.call!.argv, ['pre-renew', '--quiet', '--config', '/srv/dh.json']);
    assert.equal(r.call!.name, join(dir, 'other-dane-hook'));
  });

  test('acme.sh reload: deploy with acme.sh variables and extra arguments intact', async () => {
    const env = { CERT_PATH: '/a/mx.example.com.cer', CERT_KEY_PATH: '/a/mx.example.com.key', CA_CERT_PATH: '/a/ca.cer', CERT_FULLCHAIN_PATH: '/a/fullchain.cer', Le_Domain: 'mx.example.com', Le_Next_Domain_Key: '/a/mx.example.com.key.next' };
    const r = await run('acme.sh/reload', ['--id', 'mx', '--reload', 'systemctl reload postfix'], env);
    assert.deepEqual(r.call!.argv, ['deploy', '--quiet', '--config', CONFIG, '--id', 'mx', '--reload', 'systemctl reload postfix']);
    for (const [k, v] of Object.entries(env)) assert.equal(r.call!.env[k], v);
  });

  test('acme.sh pre: its exit status is the gate acme.sh sees', async () => {
    const ok = await run('acme.sh/pre', [], { Le_Domain: 'mx.example.com', Le_Alt: 'no', DOMAIN_PATH: '/a' });
    assert.equal(ok.code, 0);
    assert.deepEqual(ok.call!.argv, ['pre-renew', '--quiet', '--config', CONFIG]);
    assert.equal(ok.call!.env.Le_Alt, 'no');
    const notReady = await run('acme.sh/pre', [], { FAKE_EXIT: '5', Le_Domain: 'mx.example.com', Le_Alt: 'no', DOMAIN_PATH: '/a' });
    assert.equal(notReady.code, 5);
  });

  test('dehydrated: deploy_cert goes to dane-hook deploy -- deploy_cert ...; its status comes back', async () => {
    const args = ['deploy_cert', 'mx.example.com', '/d/certs/mx.example.com/privkey.pem', '/d/certs/mx.example.com/cert.pem', '/d/certs/mx.example.com/fullchain.pem', '/d/certs/mx.example.com/chain.pem', '1700000000'];
    const r = await run('dehydrated/hook.sh', args, { PRIVATE_KEY_ROLLOVER: 'yes' });
    assert.equal(r.code, 0);
    assert.deepEqual(r.call!.argv, ['deploy', '--quiet', '--config', CONFIG, '--', ...args]);
    assert.equal(r.call!.env.PRIVATE_KEY_ROLLOVER, 'yes');
    assert.equal((await run('dehydrated/hook.sh', args, { FAKE_EXIT: '3' })).code, 3);
  });

  test('dehydrated: unchanged_cert is deployed again (a catch-up), and never stops dehydrated', async () => {
    const args = ['unchanged_cert', 'mx.example.com', '/k', '/c', '/f', '/ch'];
    const r = await run('dehydrated/hook.sh', args, { FAKE_EXIT: '3' });
    assert.equal(r.code, 0);
    assert.deepEqual(r.call!.argv, ['deploy', '--quiet', '--config', CONFIG, '--', ...args]);
  });

  test('dehydrated: every other verb exits 0 without calling dane-hook or printing (generate_csr output is read as a CSR)', async () => {
    const calls: [string, ...string[]][] = [
      ['startup_hook'], ['exit_hook', ''], ['deploy_challenge', 'mx.example.com', 'tok', 'auth'], ['clean_challenge', 'mx.example.com', 'tok', 'auth'],
      ['generate_csr', 'mx.example.com', '/d/certs/mx.example.com', 'mx.example.com smtp.example.com'],
      ['sync_cert', '/k', '/c', '/f', '/ch', '/csr'], ['deploy_ocsp', 'mx.example.com', '/o', '1'], ['invalid_challenge', 'mx.example.com', '{}'],
      ['request_failure', '500', 'err', 'x', ''], ['this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown_hooks_in_your_script'],
    ];
    for (const args of calls) {
      const r = await run('dehydrated/hook.sh', args, { FAKE_EXIT: '9' });
      assert.equal(r.code, 0, args[0]);
      assert.equal(r.stdout, '', args[0]);
      assert.equal(r.call, undefined, `${args[0]} called dane-hook`);
    }
  });

  test('lego: deploy with v4 and v5 variables passed through', async () => {
    const r = await run('lego/renew-hook', [], { LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: '/l/mx.example.com.crt', LEGO_HOOK_CERT_PATH: '/l/mx.example.com.crt' });
    assert.deepEqual(r.call!.argv, ['deploy', '--quiet', '--config', CONFIG]);
    assert.equal(r.call!.env.LEGO_CERT_DOMAIN, 'mx.example.com');
    assert.equal(r.call!.env.LEGO_HOOK_CERT_PATH, '/l/mx.example.com.crt');
  });

  test('a missing dane-hook fails loudly (127), not silently', async () => {
    const r = await execa('/bin/sh', [join(HOOKS, 'certbot/deploy')], { env: { PATH: '/nonexistent' }, extendEnv: false, reject: false });
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /dane-hook/);
  });
});

describe('systemd units', () => {
  test('oneshot service run by a 5-minute timer, hardened but able to write state and activate dirs; systemd-analyze verify when present', async () => {
    const service = await readFile(join(HOOKS, 'systemd/dane-hook-advance.service'), 'utf8');
    const timer = await readFile(join(HOOKS, 'systemd/dane-hook-advance.timer'), 'utf8');
    assert.match(service, /^Type=oneshot$/m);
    assert.match(service, /^ExecStart=dane-hook advance --quiet --config \/etc\/dane-hook\/config\.json$/m);
    assert.match(service, /^StateDirectory=dane-hook$/m);
    assert.match(service, /^ReadWritePaths=-\/etc\/dane-hook$/m);
    assert.match(service, /^ProtectSystem=full$/m);
    assert.match(service, /^NoNewPrivileges=yes$/m);
    assert.doesNotMatch(service, /^MemoryDenyWriteExecute=yes/m, "node's JIT needs W+X memory");
    assert.match(timer, /^OnUnitActiveSec=5min$/m);
    assert.match(timer, /^RandomizedDelaySec=30s$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);

    // systemd-analyze is not ours to install: verified where the system has it (Debian 12 does).
    const analyze = findTool('systemd-analyze');
    if (analyze === undefined) return;
    const units = join(dir, 'units');
    await execa('mkdir', ['-p', units]);
    // verify checks that ExecStart's program exists: point it at the stand-in.
    await writeFile(join(units, 'dane-hook-advance.service'), service.replace(/^ExecStart=dane-hook /m, `ExecStart=${join(fakeDir, 'dane-hook')} `));
    await copyFile(join(HOOKS, 'systemd/dane-hook-advance.timer'), join(units, 'dane-hook-advance.timer'));
    const r = await execa(analyze, ['verify', join(units, 'dane-hook-advance.service'), join(units, 'dane-hook-advance.timer')], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    // Unknown or misspelt keys only warn ("Unknown key ..., ignoring"): a clean run prints nothing.
    assert.equal(r.stderr.trim(), '', r.stderr);
  });
});
