// lego, checked in go-acme/lego's source:
// v4 (cmd/cmd_renew.go in 4.9.1, cmd/hook.go later), --renew-hook: LEGO_CERT_DOMAIN, LEGO_CERT_PATH,
//   LEGO_CERT_KEY_PATH, LEGO_CERT_PEM_PATH and LEGO_CERT_PFX_PATH (set even when not written),
//   LEGO_ISSUER_CERT_PATH (4.2x).
// v5 (cmd/internal/hook/metadata.go), --deploy-hook: LEGO_HOOK_CERT_NAME, LEGO_HOOK_CERT_DOMAINS
//   (comma separated), LEGO_HOOK_CERT_PATH, LEGO_HOOK_CERT_KEY_PATH, LEGO_HOOK_ISSUER_CERT_PATH,
//   LEGO_HOOK_CERT_PEM_PATH/PFX_PATH when written. The v5 pre hook gets the name and domains only.
// The .crt file is a bundle (certificate + issuer) unless --no-bundle: then it doubles as fullchain.
import { checkFile, certificateDomains, countCertificates, normalizeDomains } from './files.js';
import { dropUndefined } from './lineage.js';
import type { CertFiles } from './types.js';

export function fromLego(env: NodeJS.ProcessEnv): CertFiles | undefined {
  if (env.LEGO_HOOK_CERT_PATH !== undefined) {
    return files(env, 'LEGO_HOOK_CERT_PATH', 'LEGO_HOOK_CERT_KEY_PATH', 'LEGO_HOOK_ISSUER_CERT_PATH', [
      env.LEGO_HOOK_CERT_NAME ?? '',
      ...(env.LEGO_HOOK_CERT_DOMAINS ?? '').split(','),
    ]);
  }
  if (env.LEGO_CERT_PATH !== undefined) {
    return files(env, 'LEGO_CERT_PATH', 'LEGO_CERT_KEY_PATH', 'LEGO_ISSUER_CERT_PATH', [env.LEGO_CERT_DOMAIN ?? '']);
  }
  return undefined;
}

function files(env: NodeJS.ProcessEnv, certVar: string, keyVar: string, issuerVar: string, domains: string[]): CertFiles {
  const cert = checkFile(certVar, env[certVar]);
  return dropUndefined({
    client: 'lego',
    cert,
    chain: env[issuerVar] ? checkFile(issuerVar, env[issuerVar]) : undefined,
    fullchain: countCertificates(cert) > 1 ? cert : undefined,
    key: checkFile(keyVar, env[keyVar]),
    domains: normalizeDomains([...domains, ...certificateDomains(cert)]),
  });
}
