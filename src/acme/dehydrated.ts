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

/** A hook verb dane-hook has nothing to do for (everything but deploy_cert), or undefined. */
export function ignoredHookVerb(args: readonly string[]): string | undefined {
  const verb = args[0];
  if (verb === undefined || verb === DEPLOY_VERB) return undefined;
  return /^[a-z][a-z0-9]*(?:_+[a-z0-9]+)+$/.test(verb) ? verb : undefined;
}

export function fromDehydrated(env: NodeJS.ProcessEnv, args: readonly string[]): CertFiles | undefined {
  if (args[0] !== DEPLOY_VERB) return undefined;
  const [, domain, keyFile, certFile, fullchainFile, chainFile] = args;
  if (chainFile === undefined) {
    throw new UserError(`dehydrated deploy_cert needs DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE, got ${args.length - 1} argument(s)`);
  }
  const cert = checkFile('deploy_cert CERTFILE', certFile);
  const lineage = dirname(certFile!);
  const roll = join(dirname(keyFile!), ROLL_KEY);
  const rolling = env.PRIVATE_KEY_ROLLOVER === undefined || env.PRIVATE_KEY_ROLLOVER === 'yes';
  return dropUndefined({
    client: 'dehydrated',
    cert,
    chain: checkFile('deploy_cert CHAINFILE', chainFile),
    fullchain: checkFile('deploy_cert FULLCHAINFILE', fullchainFile),
    key: checkFile('deploy_cert KEYFILE', keyFile),
    nextKey: rolling && existsSync(roll) && holdsKey(roll) ? checkFile(`deploy_cert ${ROLL_KEY}`, roll) : undefined,
    domains: normalizeDomains([domain!, ...certificateDomains(cert)]),
    lineage,
  });
}
