// Where the CLI writes: results on stdout, diagnostics on stderr, nothing on success in hooks.

export function out(line: string): void {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

export function warn(line: string): void {
  process.stderr.write(`dane-hook: warning: ${line}\n`);
}

export function info(line: string, quiet = false): void {
  if (!quiet) process.stderr.write(`dane-hook: ${line}\n`);
}

export function json(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
