// acme.sh (contract from its source, acme.sh _installcert and _on_before_issue):
// --reloadcmd: CERT_PATH, CERT_KEY_PATH, CA_CERT_PATH, CERT_FULLCHAIN_PATH, Le_Domain,
//   Le_ForceNewDomainKey, Le_Next_Domain_Key (the path "$CERT_KEY_PATH.next"); cwd is DOMAIN_PATH.
// --pre-hook: Le_Domain, Le_Alt ("no" when none) and DOMAIN_PATH (exported by _initpath); nothing
//   else. The key files are "$DOMAIN_PATH/$Le_Domain.key" and ".key.next". Le_Next_Domain_Key is not
//   set for the pre hook and may be left over from another domain of the same --cron run: not used.
// acme.sh empties a .key.next it has consumed (echo "" > file), so only a file holding a key counts.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkFile, certificateDomains, holdsKey, normalizeDomains } from './files.js';
import { dropUndefined } from './lineage.js';
import type { CertFiles } from './types.js';

export function fromAcmeSh(env: NodeJS.ProcessEnv): CertFiles | undefined {
  if (env.CERT_PATH !== undefined && env.CERT_KEY_PATH !== undefined) return reloadCmd(env);
  if (env.Le_Domain !== undefined && env.DOMAIN_PATH !== undefined && env.Le_Alt !== undefined) return preHook(env);
  return undefined;
}

function reloadCmd(env: NodeJS.ProcessEnv): CertFiles {
  const cert = checkFile('CERT_PATH', env.CERT_PATH);
  const optional = (name: string) => (env[name] ? checkFile(name, env[name]) : undefined);
  const next = env.Le_ForceNewDomainKey && env.Le_Next_Domain_Key ? resolve(env.Le_Next_Domain_Key) : undefined;
  return dropUndefined({
    client: 'acme.sh',
    cert,
    chain: optional('CA_CERT_PATH'),
    fullchain: optional('CERT_FULLCHAIN_PATH'),
    key: checkFile('CERT_KEY_PATH', env.CERT_KEY_PATH),
    nextKey: next !== undefined && holdsKey(next) ? checkFile('Le_Next_Domain_Key', next) : undefined,
    domains: normalizeDomains([env.Le_Domain ?? '', ...certificateDomains(cert)]),
  });
}

function preHook(env: NodeJS.ProcessEnv): CertFiles {
  const domain = env.Le_Domain!;
  const dir = resolve(env.DOMAIN_PATH!);
  const key = join(dir, `${domain}.key`);
  const next = `${key}.next`;
  const alt = env.Le_Alt === 'no' ? [] : (env.Le_Alt ?? '').split(/[\s,]+/);
  return dropUndefined({
    client: 'acme.sh',
    cert: join(dir, `${domain}.cer`),
    chain: join(dir, 'ca.cer'),
    fullchain: join(dir, 'fullchain.cer'),
    key,
    nextKey: existsSync(next) && holdsKey(next) ? checkFile('Le_Next_Domain_Key', next) : undefined,
    domains: normalizeDomains([domain, ...alt]),
    pending: true,
  });
}
