// Where the next key comes from (flag, config, the ACME client's next-key file, or one we make),
// read once per run.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import { keyInUse } from '../rollover/decide.js';
import type { ChainRef } from '../rollover/types.js';
import { serviceDir, type ServiceFile } from '../state/store.js';
import { nextKeyRef } from './chain.js';
import { generateKeyLike } from './keygen.js';
import type { Trigger } from './types.js';

export interface NextKey {
  path: string;
  ref?: ChainRef;
}

// acme.sh empties its .key.next once used: an empty file means no next key.
const holdsKey = (path: string) => existsSync(path) && statSync(path).size > 1;

/** The next key's path (undefined: none) and, when the file holds a key, its records. */
export function loadNextKey(stateDir: string, file: ServiceFile, settings: ServiceSettings, trigger: Trigger, dryRun?: boolean): NextKey | undefined {
  const given = trigger.kind === 'pre-renew' ? trigger.nextKeyFile : trigger.kind === 'deploy' ? trigger.files.nextKey : undefined;
  const path = given ?? settings.nextKeyFile;
  if (trigger.kind === 'pre-renew' && trigger.generate) {
    const out = path ?? join(serviceDir(stateDir, settings.id), 'next-key.pem');
    let ref = holdsKey(out) ? nextKeyRef(out, settings).ref : undefined;
    // A key already used by the chain in service is no longer a next key: make a fresh one.
    if ((!ref || keyInUse(file.rollover, ref)) && !dryRun) {
      const current = file.rollover.inService ? file.chains[file.rollover.inService.id] : undefined;
      if (!current) throw new UserError(`--generate-next-key needs a certificate in service to copy the key type from: run deploy first`);
      generateKeyLike(join(current.dir, 'privkey.pem'), out);
      ref = nextKeyRef(out, settings).ref;
    }
    return { path: out, ref };
  }
  // Without a next key, pre-renew does what advance does (certbot's pre-hook knows no key).
  const chosen = trigger.kind === 'pre-renew' && path === undefined ? file.nextKeyFile : path;
  if (chosen === undefined) return undefined;
  if (!existsSync(chosen) && trigger.kind === 'pre-renew' && path !== undefined) throw new UserError(`next key ${chosen} does not exist`);
  return { path: chosen, ref: holdsKey(chosen) ? nextKeyRef(chosen, settings).ref : undefined };
}
