import { changeEvents, shapeFromRelation, transactionContext } from '../../main/engine/cdc/postgres/envelope.js';
import { builtinTypes } from '../../main/engine/cdc/postgres/values.js';
import { EventEncoder } from '../../main/engine/log/index.js';
const types = builtinTypes();
const shape = shapeFromRelation('eddy_test', { oid: 1, schema: 'public', name: 'eddy_bench_x', replicaIdentity: 'default', columns: [
  { name: 'id', isKey: true, typeOid: 23, typeModifier: -1 }, { name: 'version', isKey: false, typeOid: 23, typeModifier: -1 }, { name: 'amount', isKey: false, typeOid: 1700, typeModifier: -1 }, { name: 'note', isKey: false, typeOid: 25, typeModifier: -1 }, { name: 'at', isKey: false, typeOid: 1184, typeModifier: -1 }] }, (oid) => types.get(oid)!, ['id']);
const source = { name: 'bench', version: 'bench' };
const enc = new EventEncoder(16 << 20);
const N = 20000;
for (let r = 0; r < 30; r++) {
  const txn = transactionContext(1234, 0x1a2b3c4dn + BigInt(r), 1_767_225_600_123_456n);
  let t = performance.now(); const evs = [];
  for (let i = 0; i < N; i++) evs.push(...changeEvents(shape, { tag: 'insert', newTuple: [String(i), '1', String(i * 1.25), 'c4ca4238a0b923820dcc509a6f75849b', '2026-12-07 16:00:00.123456+00'] }, 0x1a2b3c4dn + BigInt(i), txn, source));
  const t1 = performance.now();
  for (const e of evs) enc.encode(e);
  const t2 = performance.now();
  if (r >= 26) console.log(`changeEvents ${((t1 - t) * 1000 / N).toFixed(2)} µs, encode ${((t2 - t1) * 1000 / N).toFixed(2)} µs`);
}
