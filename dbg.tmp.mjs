import { startZoneTree } from '/work/wt/check/build/test/support/zones.js';
import { startUnbound } from '/work/wt/check/build/test/support/unbound.js';
import { execa } from 'execa';
const rec = ['_443._tcp.ee IN TLSA 3 1 1 ' + 'ab'.repeat(32)];
const only = process.argv[2].split(',');
const all = [{ label: 'good', records: [...rec, '_443._tcp.unassigned IN TLSA 3 2 1 ' + 'ab'.repeat(32), '_443._tcp.private IN TLSA 255 255 255 00', '_443._tcp.alias IN CNAME _dane.good.example.test.', '_dane IN TLSA 3 1 1 ' + 'ab'.repeat(32),'_443._tcp.short IN TLSA 3 1 1 ' + 'ab'.repeat(31)], signing: 'valid', ds: 'right' },
 { label: 'unsigned', records: rec, signing: 'none', ds: 'none' },
 { label: 'lag', records: rec, signing: 'valid', ds: 'right', lagging: rec }];
const ch = all.filter((c) => only.includes(c.label));
const tree = await startZoneTree({ children: ch });
const ub = await startUnbound(tree, { stubs: ch.map((c) => c.label + '.example.test.') });
const d = async (a) => (await execa('dig', a, { reject: false })).stdout;
console.log((await d(['@127.0.0.1', '-p', String(ub.port), '+dnssec', 'TLSA', '_443._tcp.ee.good.example.test'])).match(/status: \w+|flags:[^;]*/g));
await ub.stop(); await tree.stop();
