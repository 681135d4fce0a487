// On-disk layouts of the ACME clients, made from real openssl certificates (test/support/pki.ts):
// certbot's live/ symlinks into archive/, dehydrated's certs/DOMAIN, acme.sh's ~/.acme.sh/DOMAIN_ecc,
// lego's .lego/certificates.
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LeafPaths } from '../support/pki.js';

/** certbot: archive/NAME/{cert,chain,fullchain,privkey}N.pem and live/NAME/*.pem -> ../../archive/NAME/*N.pem. */
export async function certbotLineage(root: string, name: string, versions: LeafPaths[]): Promise<string> {
  const archive = join(root, 'archive', name);
  const live = join(root, 'live', name);
  await mkdir(archive, { recursive: true });
  await mkdir(live, { recursive: true });
  for (const [i, leaf] of versions.entries()) {
    await copyFile(leaf.cert, join(archive, `cert${i + 1}.pem`));
    await copyFile(leaf.chain, join(archive, `chain${i + 1}.pem`));
    await copyFile(leaf.fullchain, join(archive, `fullchain${i + 1}.pem`));
    await copyFile(leaf.key, join(archive, `privkey${i + 1}.pem`));
  }
  await pointLive(root, name, versions.length);
  return live;
}

/** Re-points certbot's live symlinks at version n, as a renewal does. */
export async function pointLive(root: string, name: string, n: number): Promise<void> {
  const live = join(root, 'live', name);
  for (const f of ['cert', 'chain', 'fullchain', 'privkey']) {
    await rm(join(live, `${f}.pem`), { force: true });
    await symlink(`../../archive/${name}/${f}${n}.pem`, join(live, `${f}.pem`));
  }
}

/** dehydrated: certs/DOMAIN/{cert,chain,fullchain,privkey}-TS.pem with unversioned symlinks. */
export async function dehydratedCertDir(root: string, domain: string, leaf: LeafPaths, ts: number, rollKey?: string): Promise<string> {
  const dir = join(root, 'certs', domain);
  await mkdir(dir, { recursive: true });
  for (const [f, src] of [['cert', leaf.cert], ['chain', leaf.chain], ['fullchain', leaf.fullchain], ['privkey', leaf.key]] as const) {
    await copyFile(src, join(dir, `${f}-${ts}.pem`));
    await rm(join(dir, `${f}.pem`), { force: true });
    await symlink(`${f}-${ts}.pem`, join(dir, `${f}.pem`));
  }
  if (rollKey) await copyFile(rollKey, join(dir, 'privkey.roll.pem'));
  return dir;
}

/** acme.sh: DOMAIN_ecc/{DOMAIN.cer, DOMAIN.key, ca.cer, fullchain.cer} and optionally DOMAIN.key.next. */
export async function acmeShDomainDir(root: string, domain: string, leaf: LeafPaths, nextKey?: string): Promise<string> {
  const dir = join(root, `${domain}_ecc`);
  await mkdir(dir, { recursive: true });
  await copyFile(leaf.cert, join(dir, `${domain}.cer`));
  await copyFile(leaf.key, join(dir, `${domain}.key`));
  await copyFile(leaf.chain, join(dir, 'ca.cer'));
  await copyFile(leaf.fullchain, join(dir, 'fullchain.cer'));
  if (nextKey) await copyFile(nextKey, join(dir, `${domain}.key.next`));
  return dir;
}

/** lego: certificates/DOMAIN.crt (bundle: leaf + issuer, lego's default), .key, .issuer.crt. */
export async function legoCertificates(root: string, domain: string, leaf: LeafPaths): Promise<string> {
  const dir = join(root, 'certificates');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${domain}.crt`), (await readFile(leaf.cert, 'latin1')) + (await readFile(leaf.chain, 'latin1')));
  await copyFile(leaf.key, join(dir, `${domain}.key`));
  await copyFile(leaf.chain, join(dir, `${domain}.issuer.crt`));
  return dir;
}
