// Checks on the files an ACME client names: one-line errors that say which variable pointed where.
import { X509Certificate } from 'node:crypto';
import { closeSync, constants, openSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readReason as reason } from '../io/fs-errors.js';
import { readBounded } from '../io/read-bounded.js';
import { shownValue } from '../io/shown.js';

/** A file's text, bounded (no device, FIFO or huge file), or undefined when it cannot be read. */
const textOf = (path: string): string | undefined => {
  try {
    return readBounded(path).toString('latin1');
  } catch {
    return undefined;
  }
};

/**
 * Returns the real path of a readable regular file, or throws naming `what` (a variable or flag).
 * Real path: certbot's and dehydrated's live names are symlinks that the next renewal re-points, so
 * the version in hand is pinned by its archive name. A stat tells "a regular file" (nothing else is
 * opened: a device's open has effects), an open "readable" (opened as read-bounded.ts opens:
 * non-blocking, no controlling tty), and the kernel names the opened file in /proc/self/fd: one
 * readlink where realpath(3) reads every part of both paths (a deploy over many services checks
 * four files each).
 */
export function checkFile(what: string, raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw new UserError(`${what} is empty: a file path is needed`);
  if (shownValue(raw) !== raw) throw new UserError(`${what} ${JSON.stringify(raw)} contains a control character`);
  const path = resolve(raw);
  const failed = (err: unknown) => new UserError(`${what}: ${path} ${reason(err)}`, { cause: err });
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw failed(err);
  }
  if (!isFile) throw new UserError(`${what}: ${path} is not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw failed(err);
  }
  try {
    return openedPath(fd) ?? realPath(path, failed);
  } finally {
    closeSync(fd);
  }
}

/** The absolute path the kernel has for an open file; undefined without /proc or once it is deleted. */
function openedPath(fd: number): string | undefined {
  try {
    const p = readlinkSync(`/proc/self/fd/${fd}`);
    return p.startsWith('/') && !p.endsWith(' (deleted)') ? p : undefined;
  } catch {
    return undefined;
  }
}

function realPath(path: string, failed: (err: unknown) => UserError): string {
  try {
    return realpathSync.native(path);
  } catch (err) {
    throw failed(err);
  }
}

/** Returns the absolute path of an existing directory, or throws naming `what`. */
export function checkDir(what: string, raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw new UserError(`${what} is empty: a directory is needed`);
  const path = resolve(raw);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new UserError(`${what}: ${path} ${reason(err)}`, { cause: err });
  }
  if (!isDir) throw new UserError(`${what}: ${path} is not a directory`);
  return path;
}


/** True when the file holds something that looks like a PEM private key (acme.sh empties a used .key.next). */
export function holdsKey(path: string): boolean {
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(textOf(path) ?? '');
}

/** How many PEM certificates the file holds (lego's .crt is a bundle unless --no-bundle). */
export function countCertificates(path: string): number {
  return textOf(path)?.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

/** DNS names of the first certificate in a PEM file; [] when it cannot be parsed (the loader says why later). */
export function certificateDomains(path: string): string[] {
  try {
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(textOf(path) ?? '');
    if (!pem) return [];
    const san = new X509Certificate(pem[0]).subjectAltName ?? '';
    return san
      .split(/,\s*/)
      .filter((e) => e.startsWith('DNS:'))
      .map((e) => e.slice(4).toLowerCase());
  } catch {
    return [];
  }
}

/** Lower-case, no trailing dot, no duplicates, order kept. */
export function normalizeDomains(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const d = raw.trim().toLowerCase().replace(/\.$/, '');
    if (d !== '' && !out.includes(d)) out.push(d);
  }
  return out;
}
