// dehydrated calls ONE hook script for every event: `HOOK VERB ARGS...`. Only deploy_cert carries a
// new certificate: deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP, with the
// files being symlinks in certs/DOMAIN/. With PRIVATE_KEY_ROLLOVER=yes (exported to the hook) the next
// key waits beside them as privkey.roll.pem. Every other verb, including ones added later (dehydrated
// calls an unknown one on purpose to check the hook ignores it), must be a quiet no-op.
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { checkFile, certificateDomains, holdsKey, normalizeDomains } from './files.js';
import { dropUndefined, ROLL_KEY } from './lineage.js';
import type { CertFiles } from './types.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEPLOY_VERB = 'deploy_cert';
/**
 * unchanged_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE: the same certificate again.
 * Deploying it is a no-op for a chain dane-hook knows, and catches up one whose deploy_cert failed
 * (dehydrated never offers that certificate as new again).
 */
export const UNCHANGED_VERB = 'unchanged_cert';

/** A hook verb dane-hook has nothing to do for (all but deploy_cert and unchanged_cert), or undefined. */
export function ignoredHookVerb(args: readonly string[]): string | undefined {
  const verb = args[0];
  if (verb === undefined || verb === DEPLOY_VERB || verb === UNCHANGED_VERB) return undefined;
  return /^[a-z][a-z0-9]*(?:_+[a-z0-9]+)+$/.test(verb) ? verb : undefined;
}

export function fromDehydrated(env: NodeJS.ProcessEnv, args: readonly string[]): CertFiles | undefined {
  if (args[0] !== DEPLOY_VERB && args[0] !== UNCHANGED_VERB) return undefined;
  const verb = args[0];
  const [, domain, keyFile, certFile, fullchainFile, chainFile] = args;
  if (chainFile === undefined) {
    throw new UserError(`dehydrated ${verb} needs DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE, got ${args.length - 1} argument(s)`);
  }
  const cert = checkFile(`${verb} CERTFILE`, certFile);
  const lineage = dirname(certFile!);
  const roll = join(dirname(keyFile!), ROLL_KEY);
  const rolling = env.PRIVATE_KEY_ROLLOVER === undefined || env.PRIVATE_KEY_ROLLOVER === 'yes';
  return dropUndefined({
    client: 'dehydrated',
    cert,
    chain: checkFile(`${verb} CHAINFILE`, chainFile),
    fullchain: checkFile(`${verb} FULLCHAINFILE`, fullchainFile),
    key: checkFile(`${verb} KEYFILE`, keyFile),
    nextKey: rolling && existsSync(roll) && holdsKey(roll) ? checkFile(`${verb} ${ROLL_KEY}`, roll) : undefined,
    domains: normalizeDomains([domain!, ...certificateDomains(cert)]),
    lineage,
  });
}
