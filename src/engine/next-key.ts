// Where the next key comes from (flag, config, the ACME client's next-key file, or one we make),
// and whether a key is already in use by a chain.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import { recordKey } from '../tlsa/record.js';
import type { ChainRef, RolloverState } from '../rollover/types.js';
import { serviceDir, type ServiceFile } from '../state/store.js';
import { nextKeyRef } from './chain.js';
import { generateKeyLike } from './keygen.js';
import type { Trigger } from './run.js';

/** A next key whose records a chain in service or pending already carries is no longer "next". */
export function keyInUse(state: RolloverState, key: ChainRef): boolean {
  return [state.inService, state.pending].some((c) => c !== undefined && key.records.every((r) => c.records.some((x) => recordKey(x) === recordKey(r))));
}

export function resolveNextKey(stateDir: string, file: ServiceFile, settings: ServiceSettings, trigger: Trigger, dryRun?: boolean): string | undefined {
  const given = trigger.kind === 'pre-renew' ? trigger.nextKeyFile : trigger.kind === 'deploy' ? trigger.files.nextKey : undefined;
  const path = given ?? settings.nextKeyFile;
  if (trigger.kind === 'pre-renew' && trigger.generate) {
    const out = path ?? join(serviceDir(stateDir, settings.id), 'next-key.pem');
    // A key already used by the chain in service is no longer a next key: make a fresh one.
    const used = existsSync(out) && statSync(out).size > 1 && keyInUse(file.rollover, nextKeyRef(out, settings).ref);
    if ((!existsSync(out) || used) && !dryRun) {
      const current = file.rollover.inService ? file.chains[file.rollover.inService.id] : undefined;
      if (!current) throw new UserError(`--generate-next-key needs a certificate in service to copy the key type from: run deploy first`);
      generateKeyLike(join(current.dir, 'privkey.pem'), out);
    }
    return out;
  }
  // Without a next key, pre-renew does what advance does (certbot's pre-hook knows no key).
  if (trigger.kind === 'pre-renew' && path === undefined) return file.nextKeyFile;
  if (path !== undefined && !existsSync(path) && trigger.kind === 'pre-renew') throw new UserError(`next key ${path} does not exist`);
  return path;
}

