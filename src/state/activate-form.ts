// The activate dir has two forms. A symlink to a folder per chain is swapped with one rename: a
// service sees the old files or the new, never a mix. A real folder (made by hand) gets its files
// replaced one by one: a crash between two renames leaves the new cert.pem beside the old
// privkey.pem, and a service reloaded then fails. Only the symlink form is atomic: say so.
import { lstatSync } from 'node:fs';
import { shownValue } from '../io/shown.js';

/** A warning when the activate dir is a real folder, else undefined (a symlink, or not made yet). */
export function activateDirWarning(activateDir: string | undefined): string | undefined {
  if (activateDir === undefined) return undefined;
  try {
    if (!lstatSync(activateDir).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return `activate dir ${shownValue(activateDir)} is a real folder: its files are replaced one by one, so a crash mid-promotion can leave a certificate beside another chain's key; move it away and let dane-hook make it a symlink (swapped atomically)`;
}
