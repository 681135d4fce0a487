// --generate-next-key: a new key of the same algorithm and size as the current one, written 0600.
import { generateKeyPairSync, type KeyObject, type RSAPSSKeyPairKeyObjectOptions } from 'node:crypto';
import { loadMaterial } from '../tlsa/load.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic.js';

function generateLike(current: KeyObject): KeyObject {
  const d = current.asymmetricKeyDetails ?? {};
  switch (current.asymmetricKeyType) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: d.modulusLength ?? 2048, publicExponent: Number(d.publicExponent ?? 65537n) }).privateKey;
    case 'rsa-pss': {
      // The key's PSS restrictions (hash, MGF1 hash, minimum salt) go with it: a next key without
      // them would let the server sign in ways the current key forbids.
      const pss: RSAPSSKeyPairKeyObjectOptions = { modulusLength: d.modulusLength ?? 2048, publicExponent: Number(d.publicExponent ?? 65537n) };
      if (d.hashAlgorithm !== undefined) pss.hashAlgorithm = d.hashAlgorithm;
      if (d.mgf1HashAlgorithm !== undefined) pss.mgf1HashAlgorithm = d.mgf1HashAlgorithm;
      // @types/node 20 types saltLength as a string; Node takes (and reports) a number.
      if (d.saltLength !== undefined) Object.assign(pss, { saltLength: d.saltLength });
      return generateKeyPairSync('rsa-pss', pss).privateKey;
    }
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
