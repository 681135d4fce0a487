// Which files a hook run is about: explicit flags first, then the calling client's environment.
// certbot's RENEWED_* leak into later hooks of the same run, so they are looked at last and never
// override a flag.
import { UserError } from '../errors.js';
import { fromAcmeSh } from './acmesh.js';
import { fromCertbot } from './certbot.js';
import { fromDehydrated } from './dehydrated.js';
import { fromFlags } from './flags.js';
import { fromLego } from './lego.js';
import type { CertFiles, CertSource } from './types.js';

export type { CertFiles, Client } from './types.js';
export { fromFlags } from './flags.js';
export { ignoredHookVerb, DEPLOY_VERB } from './dehydrated.js';
export { checkFile, checkDir } from './files.js';

/** The environment variables (and hook arguments) each client is recognised by, for error messages. */
export const LOOKED_FOR =
  'dehydrated arguments (deploy_cert ...), lego LEGO_HOOK_CERT_PATH / LEGO_CERT_PATH, acme.sh CERT_PATH + CERT_KEY_PATH ' +
  '(or Le_Domain + Le_Alt + DOMAIN_PATH in --pre-hook), certbot RENEWED_LINEAGE';

/** `args`: the positional words after the command (dehydrated's verb and its arguments). */
export function fromEnvironment(env: NodeJS.ProcessEnv, args: readonly string[] = []): CertFiles | undefined {
  return fromDehydrated(env, args) ?? fromLego(env) ?? fromAcmeSh(env) ?? fromCertbot(env);
}

export function resolveCertFiles(src: CertSource, env: NodeJS.ProcessEnv, args: readonly string[] = []): CertFiles {
  const found = fromFlags(src) ?? fromEnvironment(env, args);
  if (found) return found;
  throw new UserError(`no certificate files given: use --lineage DIR or --cert/--key, or run as an ACME client hook (looked for ${LOOKED_FOR})`);
}
