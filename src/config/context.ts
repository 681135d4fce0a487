// Collecting problems instead of stopping at the first: every rule adds to one list of errors and one
// of warnings, each a single line that names where the value was written (a JSON path in a config
// file, or a flag).
import { UserError } from '../errors.js';

export interface Problems {
  errors: string[];
  warnings: string[];
}

export interface Ctx extends Problems {
  /** Turns a JSON path (services[0].ttl) into the place shown to the user. */
  where(path: string): string;
  /** Relative paths in the source are taken from here (the config file's directory, or the cwd). */
  baseDir: string;
}

export function configCtx(file: string, baseDir: string): Ctx {
  return { errors: [], warnings: [], baseDir, where: (path) => `config ${file}: ${path}` };
}

/** Flags: the JSON path's last key is mapped to the flag that sets it. */
export function flagsCtx(baseDir: string, flagOf: (key: string) => string): Ctx {
  return {
    errors: [],
    warnings: [],
    baseDir,
    where: (path) => flagOf(/([A-Za-z]+)(?:\[\d+\])?$/.exec(path)?.[1] ?? path),
  };
}

/**
 * Runs a check that throws UserError and records its message. With `path`, the message is prefixed
 * by the place; without, the check names the place itself (checkName(raw, ctx.where(path))).
 */
export function attempt<T>(ctx: Ctx, check: () => T, path?: string): T | undefined {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    ctx.errors.push(path === undefined ? err.message : `${ctx.where(path)}: ${err.message}`);
    return undefined;
  }
}

export function fail(ctx: Ctx, path: string, message: string): undefined {
  ctx.errors.push(`${ctx.where(path)} ${message}`);
  return undefined;
}

export function warn(ctx: Ctx, path: string, message: string): void {
  ctx.warnings.push(`${ctx.where(path)} ${message}`);
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Unknown keys are errors: a typo must not silently drop a setting. Suggests a close known key. */
export function checkKeys(ctx: Ctx, path: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const at = path === '' ? key : `${path}.${key}`;
    fail(ctx, at, `is not a known setting${near ? `: did you mean "${near}"?` : ` (known: ${known.join(', ')})`}`);
  }
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Throws one UserError listing every error, one per line. */
export function throwIfErrors(problems: Problems): void {
  if (problems.errors.length === 0) return;
  const more = problems.errors.length > 1 ? `\n${problems.errors.slice(1).join('\n')}` : '';
  throw new UserError(`${problems.errors[0]}${more}`);
}
