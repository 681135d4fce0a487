// certbot --deploy-hook / renewal-hooks/deploy: RENEWED_LINEAGE (the live dir) and RENEWED_DOMAINS
// (space separated). The pre hook gets nothing certificate-specific, and certbot keeps no next key.
import { lineageFiles } from './lineage.js';
import type { CertFiles } from './types.js';

export function fromCertbot(env: NodeJS.ProcessEnv): CertFiles | undefined {
  const lineage = env.RENEWED_LINEAGE;
  if (lineage === undefined) return undefined;
  const domains = (env.RENEWED_DOMAINS ?? '').split(/\s+/).filter(Boolean);
  return lineageFiles('certbot', 'RENEWED_LINEAGE', lineage, domains, false);
}
