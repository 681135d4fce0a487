// Reading the config file: a missing file or malformed JSON is one line naming the file and, for
// JSON, the line and column.
import { UserError } from '../errors.js';
import { readBounded } from '../io/read-bounded.js';
import { shownValue } from '../io/shown.js';

/** A config of 10,000 services is about 1.5 MB: room for a large fleet, still no /dev/zero. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

export function readJsonFile(file: string): unknown {
  let text: string;
  // Bounded: a config named as /dev/zero or a FIFO must not hang or fill memory.
  text = readBounded(file, { what: `config ${shownValue(file)}`, max: MAX_CONFIG_BYTES }).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const m = /at position (\d+)/.exec(message);
    const pos = m ? Number(m[1]) : text.length;
    const before = text.slice(0, pos).split('\n');
    const line = before.length;
    const column = before[before.length - 1]!.length + 1;
    const reason = message.replace(/\s*in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
    throw new UserError(`config ${file}: line ${line} column ${column}: not valid JSON: ${reason}`, { cause: err });
  }
}
