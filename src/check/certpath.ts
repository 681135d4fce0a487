// Certificate checks a DANE client makes once a record matched (pure, node:crypto only):
// - DANE-TA(2): the leaf must name the host (RFC 7671 5.2.2, RFC 7672 3.2.2) and the chain from
//   the leaf must really be signed up to the matched trust anchor, not merely contain it.
// - PKIX-TA/PKIX-EE(0/1): the chain must validate to a trust store (RFC 6698 2.1.1).
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';

export const subjectOf = (x: X509Certificate): string => /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? x.subject.replace(/\n/g, ', ');

/** The host as a reference identifier: SAN dNSName (wildcards as RFC 6125), CN only without SAN. */
export function namesHost(leaf: Buffer, host: string): boolean {
  return new X509Certificate(leaf).checkHost(host.replace(/\.$/, '')) !== undefined;
}

/** Why `child` is not issued by `issuer`, or undefined when it is (names, CA flag, signature). */
function notIssuedBy(child: X509Certificate, issuer: X509Certificate): string | undefined {
  if (!child.checkIssued(issuer)) return `${subjectOf(child)} names another issuer than ${subjectOf(issuer)}`;
  if (!issuer.ca) return `${subjectOf(issuer)} is not a CA certificate`;
  if (!child.verify(issuer.publicKey)) return `the signature on ${subjectOf(child)} does not verify with the key of ${subjectOf(issuer)}`;
  return undefined;
}

/** Why the presented chain is not signed from the leaf up to certs[top], or undefined when it is. */
export function brokenBelow(certs: Buffer[], top: number): string | undefined {
  const xs = certs.slice(0, top + 1).map((d) => new X509Certificate(d));
  for (let k = 1; k < xs.length; k++) {
    const why = notIssuedBy(xs[k - 1]!, xs[k]!);
    if (why) return why;
  }
  return undefined;
}

/** The key a 2 x 0 record carries itself (a whole certificate or a whole SPKI), or undefined. */
export function keyInRecord(selector: number, dataHex: string): KeyObject | undefined {
  const der = Buffer.from(dataHex, 'hex');
  try {
    return selector === 0 ? new X509Certificate(der).publicKey : createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** The top presented certificate is signed by `key` and the rest of the chain hangs below it. */
export function signedByKey(certs: Buffer[], key: KeyObject): boolean {
  if (brokenBelow(certs, certs.length - 1)) return false;
  try {
    return new X509Certificate(certs[certs.length - 1]!).verify(key);
  } catch {
    return false;
  }
}

export type PkixResult = { ok: true; path: Buffer[] } | { ok: false; reason: string };

/**
 * The PKIX path from the leaf through the presented certificates to a certificate of the trust
 * store, with validity dates and the host name checked. Enough to judge usages 0/1; revocation
 * and policy constraints are left to the clients.
 */
export function pkixPath(certs: Buffer[], anchors: Buffer[], host: string | undefined, now: number): PkixResult {
  const presented = certs.map((d) => ({ der: d, x: new X509Certificate(d) }));
  const store = anchors.map((d) => ({ der: d, x: new X509Certificate(d) }));
  const path = [presented[0]!];
  for (let depth = 0; depth < 10; depth++) {
    const cur = path[path.length - 1]!;
    const dated = (x: X509Certificate) => Date.parse(x.validFrom) <= now && now <= Date.parse(x.validTo);
    if (!dated(cur.x)) return { ok: false, reason: `${subjectOf(cur.x)} is outside its validity period` };
    const anchor = store.find((a) => notIssuedBy(cur.x, a.x) === undefined);
    if (anchor) {
      if (host && !presented[0]!.x.checkHost(host.replace(/\.$/, ''))) return { ok: false, reason: `the certificate does not name ${host}` };
      return { ok: true, path: [...path.map((p) => p.der), anchor.der] };
    }
    const next = presented.find((p) => !path.includes(p) && notIssuedBy(cur.x, p.x) === undefined);
    if (!next) return { ok: false, reason: `no issuer of ${subjectOf(cur.x)} in the chain or the trust store` };
    path.push(next);
  }
  return { ok: false, reason: 'the chain is longer than 10 certificates' };
}
