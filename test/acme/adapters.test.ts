// Each ACME client's hook environment/arguments -> CertFiles, on real client layouts made with openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromEnvironment, fromFlags, ignoredHookVerb, resolveCertFiles } from '../../src/acme/index.js';
import { UserError } from '../../src/errors.js';
import { makeLeaf, makePki, openssl, type LeafPaths, type Pki } from '../support/pki.js';
import { acmeShDomainDir, certbotLineage, dehydratedCertDir, legoCertificates, pointLive } from './layouts.js';

let dir: string;
let pki: Pki;
let v1: LeafPaths;
let v2: LeafPaths;
let www: LeafPaths;
let spareKey: string;

/** SAN DNS names as openssl prints them: the cross-check for what the adapters read from a certificate. */
async function opensslDomains(cert: string): Promise<string[]> {
  const text = (await openssl(['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'])).toString();
  return [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]!.toLowerCase());
}

function userError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `not one line: ${err.message}`);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dane-hook-acme-'));
  pki = await makePki(join(dir, 'pki'), { kinds: ['ec-p256'] });
  v1 = pki.leaves['ec-p256'];
  v2 = await makeLeaf(join(dir, 'pki', 'v2'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'mx.example.com' });
  www = await makeLeaf(join(dir, 'pki', 'www'), pki.intermediate, pki.root, { kind: 'ec-p256', host: 'www.example.com' });
  spareKey = join(dir, 'spare.key');
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', spareKey]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('certbot', () => {
  test('RENEWED_LINEAGE: live symlinks resolve to the current archive version; domains from RENEWED_DOMAINS and the SAN', async () => {
    const root = join(dir, 'letsencrypt');
    const live = await certbotLineage(root, 'mx.example.com', [v1, v2]);
    const env = { RENEWED_LINEAGE: live, RENEWED_DOMAINS: 'mx.example.com smtp.example.com' };
    const files = fromEnvironment(env, [])!;
    const archive = realpathSync(join(root, 'archive', 'mx.example.com'));
    assert.equal(files.client, 'certbot');
    assert.equal(files.cert, join(archive, 'cert2.pem'));
    assert.equal(files.chain, join(archive, 'chain2.pem'));
    assert.equal(files.fullchain, join(archive, 'fullchain2.pem'));
    assert.equal(files.key, join(archive, 'privkey2.pem'));
    assert.equal(files.lineage, realpathSync(live));
    assert.equal(await readFile(files.cert, 'latin1'), await readFile(v2.cert, 'latin1'));
    assert.deepEqual(files.domains, ['mx.example.com', 'smtp.example.com', ...(await opensslDomains(v2.cert)).filter((d) => d !== 'mx.example.com')]);
    assert.equal(files.nextKey, undefined);

    // A renewal re-points the symlinks; a rollback (certbot update_symlinks) likewise.
    await pointLive(root, 'mx.example.com', 1);
    assert.equal(fromEnvironment(env, [])!.cert, join(archive, 'cert1.pem'));
  });

  test('certbot has no next key: a privkey.roll.pem in the lineage is not one', async () => {
    const root = join(dir, 'letsencrypt-roll');
    const live = await certbotLineage(root, 'mx.example.com', [v1]);
    await writeFile(join(live, 'privkey.roll.pem'), await readFile(spareKey));
    assert.equal(fromEnvironment({ RENEWED_LINEAGE: live }, [])!.nextKey, undefined);
  });

  test('a missing file names the variable and the path, on one line', async () => {
    const root = join(dir, 'letsencrypt-broken');
    const live = await certbotLineage(root, 'mx.example.com', [v1]);
    await unlink(join(root, 'archive', 'mx.example.com', 'privkey1.pem'));
    userError(() => fromEnvironment({ RENEWED_LINEAGE: live }, []), 'RENEWED_LINEAGE', join(live, 'privkey.pem'), 'does not exist');
    userError(() => fromEnvironment({ RENEWED_LINEAGE: join(root, 'live', 'nope') }, []), 'RENEWED_LINEAGE', join(root, 'live', 'nope'), 'does not exist');
  });

  test('RENEWED_* leaked into a later hook: explicit flags win', async () => {
    const leaked = await certbotLineage(join(dir, 'le-leak'), 'mx.example.com', [v1]);
    const other = await certbotLineage(join(dir, 'le-other'), 'www.example.com', [www]);
    const env = { RENEWED_LINEAGE: leaked, RENEWED_DOMAINS: 'mx.example.com' };
    const files = resolveCertFiles({ lineage: other }, env, []);
    assert.equal(files.client, 'flags');
    assert.equal(files.lineage, realpathSync(other));
    assert.deepEqual(files.domains, await opensslDomains(www.cert));
    const single = resolveCertFiles({ cert: v2.cert, key: v2.key }, env, []);
    assert.equal(single.cert, realpathSync(v2.cert));
    assert.equal(single.lineage, undefined);
  });
});

describe('acme.sh', () => {
  test('--reloadcmd environment; Le_Next_Domain_Key counts only with Le_ForceNewDomainKey and a key in it', async () => {
    const d = await acmeShDomainDir(join(dir, 'acme.sh'), 'mx.example.com', v1, spareKey);
    const env = {
      CERT_PATH: join(d, 'mx.example.com.cer'),
      CERT_KEY_PATH: join(d, 'mx.example.com.key'),
      CA_CERT_PATH: join(d, 'ca.cer'),
      CERT_FULLCHAIN_PATH: join(d, 'fullchain.cer'),
      Le_Domain: 'mx.example.com',
      Le_ForceNewDomainKey: '1',
      Le_Next_Domain_Key: join(d, 'mx.example.com.key.next'),
      // leaked from an earlier certbot hook in the same shell: acme.sh's own variables win
      RENEWED_LINEAGE: join(dir, 'nowhere'),
    };
    const files = fromEnvironment(env, [])!;
    assert.deepEqual(files, {
      client: 'acme.sh',
      cert: env.CERT_PATH,
      chain: env.CA_CERT_PATH,
      fullchain: env.CERT_FULLCHAIN_PATH,
      key: env.CERT_KEY_PATH,
      nextKey: env.Le_Next_Domain_Key,
      domains: await opensslDomains(v1.cert),
    });
    assert.equal(fromEnvironment({ ...env, Le_ForceNewDomainKey: '' }, [])!.nextKey, undefined);
    // acme.sh empties a consumed next key (echo "" > file)
    await writeFile(env.Le_Next_Domain_Key, '\n');
    assert.equal(fromEnvironment(env, [])!.nextKey, undefined);
    userError(() => fromEnvironment({ ...env, CERT_KEY_PATH: join(d, 'gone.key') }, []), 'CERT_KEY_PATH', join(d, 'gone.key'));
  });

  test('--pre-hook: Le_Domain, Le_Alt, DOMAIN_PATH -> pending files, domains and the next key about to be used', async () => {
    const d = await acmeShDomainDir(join(dir, 'acme.sh-pre'), 'mx.example.com', v1, spareKey);
    const files = fromEnvironment({ Le_Domain: 'mx.example.com', Le_Alt: 'smtp.example.com,Submission.example.com', DOMAIN_PATH: d }, [])!;
    assert.equal(files.pending, true);
    assert.equal(files.nextKey, join(d, 'mx.example.com.key.next'));
    assert.equal(files.key, join(d, 'mx.example.com.key'));
    assert.deepEqual(files.domains, ['mx.example.com', 'smtp.example.com', 'submission.example.com']);
    // first issue: nothing on disk yet is not an error (the pre hook gates issuance)
    const fresh = fromEnvironment({ Le_Domain: 'new.example.com', Le_Alt: 'no', DOMAIN_PATH: join(dir, 'acme.sh-pre', 'new.example.com_ecc') }, [])!;
    assert.deepEqual(fresh.domains, ['new.example.com']);
    assert.equal(fresh.nextKey, undefined);
  });
});

describe('dehydrated', () => {
  test('deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP, with the rollover key', async () => {
    const d = await dehydratedCertDir(join(dir, 'dehydrated'), 'mx.example.com', v1, 1700000000, spareKey);
    const args = ['deploy_cert', 'mx.example.com', join(d, 'privkey.pem'), join(d, 'cert.pem'), join(d, 'fullchain.pem'), join(d, 'chain.pem'), '1700000000'];
    const files = fromEnvironment({ PRIVATE_KEY_ROLLOVER: 'yes' }, args)!;
    assert.equal(files.client, 'dehydrated');
    assert.equal(files.cert, join(realpathSync(d), 'cert-1700000000.pem'));
    assert.equal(files.key, join(realpathSync(d), 'privkey-1700000000.pem'));
    assert.equal(files.nextKey, join(realpathSync(d), 'privkey.roll.pem'));
    assert.equal(files.lineage, d);
    assert.deepEqual(files.domains, await opensslDomains(v1.cert));
    assert.equal(fromEnvironment({ PRIVATE_KEY_ROLLOVER: 'no' }, args)!.nextKey, undefined);
    // dehydrated's arguments beat leaked certbot variables
    assert.equal(fromEnvironment({ RENEWED_LINEAGE: '/nonexistent' }, args)!.client, 'dehydrated');
    userError(() => fromEnvironment({}, args.slice(0, 4)), 'deploy_cert', '3 argument(s)');
    // unchanged_cert carries the same files (no timestamp)
    const same = fromEnvironment({ PRIVATE_KEY_ROLLOVER: 'no' }, ['unchanged_cert', ...args.slice(1, 6)])!;
    assert.equal(same.client, 'dehydrated');
    assert.equal(same.cert, fromEnvironment({ PRIVATE_KEY_ROLLOVER: 'no' }, args)!.cert);
  });

  test('every other hook verb is one to ignore quietly, including unknown future ones', () => {
    for (const verb of ['startup_hook', 'exit_hook', 'deploy_challenge', 'clean_challenge', 'generate_csr', 'sync_cert', 'deploy_ocsp', 'invalid_challenge', 'request_failure', 'this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown_hooks_in_your_script']) {
      assert.equal(ignoredHookVerb([verb, 'x']), verb);
      assert.equal(fromEnvironment({}, [verb, 'mx.example.com']), undefined);
    }
    assert.equal(ignoredHookVerb(['deploy_cert', 'x']), undefined);
    assert.equal(ignoredHookVerb(['unchanged_cert', 'x']), undefined, 'unchanged_cert is deployed again (a no-op, or a catch-up)');
    assert.equal(ignoredHookVerb([]), undefined);
  });
});

describe('lego', () => {
  test('v4 --renew-hook: LEGO_CERT_*; the bundled .crt doubles as fullchain', async () => {
    const d = await legoCertificates(join(dir, 'lego4'), 'mx.example.com', v1);
    const env = { LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: join(d, 'mx.example.com.crt'), LEGO_CERT_KEY_PATH: join(d, 'mx.example.com.key'), LEGO_CERT_PEM_PATH: join(d, 'mx.example.com.pem') };
    assert.deepEqual(fromEnvironment(env, []), {
      client: 'lego', cert: env.LEGO_CERT_PATH, fullchain: env.LEGO_CERT_PATH, key: env.LEGO_CERT_KEY_PATH, domains: await opensslDomains(v1.cert),
    });
    userError(() => fromEnvironment({ ...env, LEGO_CERT_KEY_PATH: join(d, 'x.key') }, []), 'LEGO_CERT_KEY_PATH', join(d, 'x.key'));
  });

  test('v5 --deploy-hook: LEGO_HOOK_CERT_*, comma-separated domains, issuer path', async () => {
    const d = await legoCertificates(join(dir, 'lego5'), 'mx.example.com', v1);
    const env = {
      LEGO_HOOK_CERT_NAME: 'mx.example.com', LEGO_HOOK_CERT_DOMAINS: 'mx.example.com,smtp.example.com',
      LEGO_HOOK_CERT_PATH: join(d, 'mx.example.com.crt'), LEGO_HOOK_CERT_KEY_PATH: join(d, 'mx.example.com.key'),
      LEGO_HOOK_ISSUER_CERT_PATH: join(d, 'mx.example.com.issuer.crt'),
    };
    const files = fromEnvironment(env, [])!;
    assert.equal(files.chain, env.LEGO_HOOK_ISSUER_CERT_PATH);
    assert.deepEqual(files.domains, ['mx.example.com', 'smtp.example.com']);
  });
});

describe('flags', () => {
  test('--lineage in dehydrated layout picks up privkey.roll.pem; --cert/--key alone; --fullchain as cert', async () => {
    const d = await dehydratedCertDir(join(dir, 'flags-dehydrated'), 'mx.example.com', v1, 1, spareKey);
    assert.equal(fromFlags({ lineage: d })!.nextKey, join(realpathSync(d), 'privkey.roll.pem'));
    assert.equal(fromFlags({ lineage: d, key: v2.key })!.nextKey, undefined);
    const fc = fromFlags({ fullchain: v1.fullchain, key: v1.key })!;
    assert.equal(fc.cert, fc.fullchain);
    assert.equal(fromFlags({}), undefined);
  });

  test('incomplete or wrong flags are one-line errors naming the flag', async () => {
    userError(() => fromFlags({ cert: v1.cert }), '--cert', '--key');
    userError(() => fromFlags({ key: v1.key }), '--key', '--cert');
    userError(() => fromFlags({ cert: join(dir, 'nope.pem'), key: v1.key }), '--cert', join(dir, 'nope.pem'), 'does not exist');
    userError(() => fromFlags({ lineage: v1.cert }), '--lineage', 'is not a directory');
    const link = join(dir, 'dangling.pem');
    await symlink(join(dir, 'absent.pem'), link);
    userError(() => fromFlags({ cert: link, key: v1.key }), '--cert', link);
  });

  test('nothing given anywhere: the error says what was looked for', () => {
    userError(() => resolveCertFiles({}, {}, []), '--lineage', 'RENEWED_LINEAGE', 'CERT_PATH', 'LEGO_CERT_PATH', 'deploy_cert');
  });
});
