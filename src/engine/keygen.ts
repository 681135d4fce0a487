// --generate-next-key: a new key of the same algorithm and size as the current one, written 0600.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { loadMaterial } from '../tlsa/load.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic.js';

function generateLike(current: KeyObject): KeyObject {
  const d = current.asymmetricKeyDetails ?? {};
  switch (current.asymmetricKeyType) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: d.modulusLength ?? 2048, publicExponent: Number(d.publicExponent ?? 65537n) }).privateKey;
    case 'rsa-pss':
      return generateKeyPairSync('rsa-pss', { modulusLength: d.modulusLength ?? 2048 }).privateKey;
    case 'ec':
      return generateKeyPairSync('ec', { namedCurve: d.namedCurve ?? 'prime256v1' }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ed448':
      return generateKeyPairSync('ed448').privateKey;
    default:
      throw new UserError(`cannot generate a next key like the current one: key type ${current.asymmetricKeyType} is not supported`);
  }
}

export function generateKeyLike(currentKeyFile: string, out: string): void {
  const m = loadMaterial(currentKeyFile);
  if (!m.privateKey) throw new UserError(`${currentKeyFile} holds no private key`);
  const key = generateLike(m.privateKey);
  writeFileAtomic(out, key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
}
