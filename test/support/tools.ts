// Tests use real tools (openssl, ldns-dane, named...). A missing tool fails the test with a message
// that says what to install: we never skip, under CI or not.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const PACKAGES: Record<string, string> = {
  openssl: 'openssl',
  'ldns-dane': 'ldnsutils',
  named: 'bind9',
  dig: 'bind9-dnsutils',
  nsupdate: 'bind9-dnsutils',
  unbound: 'unbound',
  pebble: 'pebble',
  certbot: 'certbot',
  dehydrated: 'dehydrated',
  sha256sum: 'coreutils',
  'tsig-keygen': 'bind9',
  'dnssec-dsfromkey': 'bind9-utils',
  'dnssec-keygen': 'bind9-utils',
  'dnssec-signzone': 'bind9-utils',
  'named-compilezone': 'bind9-utils',
  pdns_server: 'pdns-server',
  pdnsutil: 'pdns-server',
  sqlite3: 'sqlite3',
  promtool: 'prometheus',
  lintian: 'lintian',
  'dpkg-deb': 'dpkg',
  strace: 'strace',
};

/** Where a tool is on PATH (or /usr/sbin, /sbin), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The tool's path; throws (failing the test) when it is missing. */
export function requireTool(name: string): string {
  const found = findTool(name);
  if (found) return found;
  const pkg = PACKAGES[name] ?? name;
  const why = process.env.CI === 'true' ? 'CI=true: a missing tool is a failure' : 'tests never skip';
  throw new Error(`required tool '${name}' is not installed (apt-get install -y ${pkg}); ${why}`);
}
