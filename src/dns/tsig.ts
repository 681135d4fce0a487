// A TSIG key file is checked when settings are read, so a wrong file fails at once (exit 2)
// instead of at the next renewal. Its content is never printed.
import { readBounded } from '../io/read-bounded.js';
import { UserError } from '../errors.js';

/** tsig-keygen/ddns-confgen output, or dnssec-keygen's K*.key / K*.private pair (nsupdate -k takes both). */
const FORMATS = [/\bkey\s+"?[A-Za-z0-9._-]+"?\s*\{[^}]*\balgorithm\s+[A-Za-z0-9-]+\s*;[^}]*\bsecret\s+"[A-Za-z0-9+/=]+"\s*;/s, /^\S+\s+(?:\d+\s+)?IN\s+KEY\s+\d+/m, /^Private-key-format:/m];

export function checkTsigKeyFile(path: string, what = 'TSIG key file'): string {
  // Bounded, and never a device or FIFO (a FIFO with no writer would hang the hook).
  const text = readBounded(path, { what: `${what} ${path}` }).toString('utf8');
  if (!FORMATS.some((re) => re.test(text))) {
    throw new UserError(`${what} ${path} is not a TSIG key file: expected tsig-keygen output, key "NAME" { algorithm hmac-sha256; secret "..."; };`);
  }
  return path;
}
