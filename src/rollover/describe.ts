// One line per step, for people (run reports and status print the same text).
import { recordText } from '../tlsa/record.js';
import type { Step } from './types.js';

export function stepText(s: Step): string {
  return s.lineage ? `${bodyText(s)} [${s.lineage}]` : bodyText(s);
}

function bodyText(s: Step): string {
  switch (s.kind) {
    case 'publish':
      return `publish  ${s.name} ${s.ttl} IN TLSA ${recordText(s.record)}`;
    case 'withdraw':
      return `withdraw ${s.name} IN TLSA ${recordText(s.record)}`;
    case 'promote':
      return `promote  chain ${s.chainId.slice(0, 16)}${s.immediate ? ' (first deploy: nothing published before, no wait needed)' : s.retry ? ' (again: the last promotion did not finish)' : ''}`;
    case 'reload':
      return `reload   the service${s.retry ? ' (again: the last reload failed or did not finish)' : ''}`;
    case 'verify':
      return `verify   the service presents chain ${s.chainId.slice(0, 16)} before withdrawing`;
  }
}
