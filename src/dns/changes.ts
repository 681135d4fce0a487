// Checks a batch of changes before any of it is written anywhere: names valid and inside the
// zone, TTLs valid, record data valid. So a newline or a space in a name is a UserError before
// nsupdate starts or a zone-file line is printed.
import { UserError } from '../errors.js';
import { checkName, checkTtl } from '../tlsa/name.js';
import { checkData, parseMatching, parseSelector, parseUsage } from '../tlsa/record.js';
import type { RecordChange } from './types.js';

/** Returns the changes normalized (absolute lower-case names, lower-case hex); throws on the first bad one. */
export function checkChanges(changes: RecordChange[], zone?: string): RecordChange[] {
  const apex = zone === undefined ? undefined : checkName(zone, 'zone');
  return changes.map((c, i) => {
    const what = `change ${i + 1}`;
    if (c.op !== 'add' && c.op !== 'delete') throw new UserError(`${what}: operation ${JSON.stringify(c.op)} is not add or delete`);
    const name = checkName(c.name, `${what}: name`);
    if (apex !== undefined && name !== apex && !name.endsWith(`.${apex}`)) {
      throw new UserError(`${what}: name ${name} is not inside zone ${apex}`);
    }
    const ttl = checkTtl(c.ttl, `${what}: TTL`);
    const usage = parseUsage(c.record.usage);
    const selector = parseSelector(c.record.selector);
    const matching = parseMatching(c.record.matching);
    const data = checkData({ usage, selector, matching }, String(c.record.data), `${what}: association data`);
    return { op: c.op, name, ttl, record: { usage, selector, matching, data } };
  });
}
