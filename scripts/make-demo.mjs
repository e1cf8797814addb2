// Generates the bundled demo workspace's captured samples (demo/samples/*.jsonl): change events
// from an OLTP shop database (SQL Server CDC, Debezium envelope) and call-centre events from a
// Kafka topic. Deterministic (seeded), so the committed files only change when this script does.
// Run: node scripts/make-demo.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'demo', 'samples');
mkdirSync(out, { recursive: true });

let seed = 20260315;
const random = () => ((seed = (seed * 1664525 + 1013904223) % 4294967296) / 4294967296);
const pick = (list) => list[Math.floor(random() * list.length)];

const start = Date.UTC(2026, 2, 2, 8, 0, 0); // Monday 2 March 2026, 08:00 UTC
let clock = start;
let lsnCommit = 0x27_00000400;
const hex = (value, width) => value.toString(16).padStart(width, '0');
const lsn = (value, serial = 0) => `${hex(Math.floor(value / 0x100000000), 8)}:${hex(value % 0x100000000, 8)}:${hex(serial, 4)}`;

const firstNames = ['Ana', 'Ben', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lena', 'Mateo', 'Nora', 'Olu', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq'];
const lastNames = ['Silva', 'Okafor', 'Martin', 'Ivanov', 'Novak', 'Haddad', 'Lee', 'Tanaka', 'García', 'Berg', 'Yilmaz', 'Fischer', 'Rossi', 'Dubois', 'Adeyemi', 'Sharma', 'Walsh', 'Costa', 'Larsen', 'Aziz'];
const cities = [
  ['12 Harbour Rd', 'Leith', 'EH6 6LX'],
  ['4 Mill Lane', 'York', 'YO1 7HH'],
  ['88 Canal St', 'Manchester', 'M1 3WB'],
  ['7 Quay Side', 'Bristol', 'BS1 4QA'],
  ['31 High St', 'Oxford', 'OX1 4AP'],
  ['2 Castle Wynd', 'Stirling', 'FK8 1EG'],
];
const products = [['SKU-1001', 'Espresso beans 1kg', 24.5], ['SKU-1002', 'Moka pot', 39.0], ['SKU-1003', 'Milk jug', 12.75], ['SKU-1004', 'Grinder', 129.0], ['SKU-1005', 'Filter papers', 4.2]];

const events = { customers: [], orders: [], calls: [] };

function source(table, commit, change, serial, snapshot) {
  return { version: '2.7.0.Final', connector: 'sqlserver', name: 'shop', ts_ms: clock, snapshot, db: 'shop', sequence: null, schema: 'dbo', table, change_lsn: change, commit_lsn: commit, event_serial_no: serial };
}

function change(kind, table, op, keyValue, before, after, snapshot = 'false') {
  lsnCommit += 0x38 + Math.floor(random() * 0x40);
  const commit = lsn(lsnCommit, 0);
  const changeLsn = lsn(lsnCommit - 0x10, 2);
  const serial = op === 'u' ? 2 : 1;
  const value = { before, after, source: source(table, commit, changeLsn, serial, snapshot), op, ts_ms: clock + 40, transaction: null };
  events[kind].push({
    stream: `sqlserver:shop.dbo.${table}`,
    position: `sqlserver:${commit}:${changeLsn}:${serial}`,
    key: keyValue,
    value,
    headers: [],
    op,
    eventTime: clock,
    ingestTime: clock + 40 + Math.floor(random() * 900),
  });
}

// Initial snapshot of the customers table.
const customers = new Map();
for (let index = 0; index < 20; index++) {
  const id = 1001 + index;
  const [street, city, postcode] = cities[index % cities.length];
  const row = { CustomerID: id, Name: `${firstNames[index]} ${lastNames[index]}`, Email: `${firstNames[index].toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}.${lastNames[index].toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}@example.com`, Street: street, City: city, Postcode: postcode, Tier: index % 5 === 0 ? 'gold' : 'standard', UpdatedAt: new Date(start - 86_400_000 * (30 - index)).toISOString() };
  customers.set(id, row);
  change('customers', 'Customers', 'r', { CustomerID: id }, null, row, index === 19 ? 'last' : 'true');
  clock += 50;
}

const orders = new Map();
let orderId = 50001;
function placeOrder(customerId) {
  const [sku, , price] = pick(products);
  const quantity = 1 + Math.floor(random() * 3);
  const row = { OrderID: orderId, CustomerID: customerId, Sku: sku, Quantity: quantity, Amount: Math.round(price * quantity * 100) / 100, Status: 'placed', PlacedAt: new Date(clock).toISOString() };
  orders.set(orderId, row);
  change('orders', 'Orders', 'c', { OrderID: orderId }, null, row);
  orderId++;
}

// A working day of activity. Customer 1003 (Chloé Martin) moves house at 11:30: her orders before
// and after the move must join different addresses.
const moveAt = Date.UTC(2026, 2, 2, 11, 30, 0);
const storyOrders = [Date.UTC(2026, 2, 2, 10, 5, 0), Date.UTC(2026, 2, 2, 14, 20, 0)];
let moved = false;
let callId = 900001;
const partitionOffsets = [0, 0, 0];
while (clock < Date.UTC(2026, 2, 2, 17, 0, 0)) {
  clock += 30_000 + Math.floor(random() * 120_000);
  if (storyOrders.length && clock >= storyOrders[0]) {
    storyOrders.shift();
    placeOrder(1003);
    continue;
  }
  if (!moved && clock >= moveAt) {
    moved = true;
    const before = customers.get(1003);
    const after = { ...before, Street: '19 Rue des Lilas', City: 'Lyon', Postcode: '69003', UpdatedAt: new Date(clock).toISOString() };
    customers.set(1003, after);
    change('customers', 'Customers', 'u', { CustomerID: 1003 }, before, after);
    continue;
  }
  const roll = random();
  if (roll < 0.55) {
    placeOrder(1001 + Math.floor(random() * 20));
  } else if (roll < 0.75 && orders.size > 0) {
    const candidates = [...orders.values()].filter((order) => order.Status === 'placed' || order.Status === 'paid');
    if (candidates.length === 0) continue;
    const before = pick(candidates);
    const after = { ...before, Status: before.Status === 'placed' ? 'paid' : 'shipped' };
    orders.set(after.OrderID, after);
    change('orders', 'Orders', 'u', { OrderID: after.OrderID }, before, after);
  } else if (roll < 0.78 && orders.size > 0) {
    const candidates = [...orders.values()].filter((order) => order.Status === 'placed');
    if (candidates.length === 0) continue;
    const before = pick(candidates);
    orders.delete(before.OrderID);
    change('orders', 'Orders', 'd', { OrderID: before.OrderID }, before, null);
  } else {
    const customerId = 1001 + Math.floor(random() * 20);
    const value = { callId, customerId, agent: pick(['agent-07', 'agent-12', 'agent-19', 'agent-23']), queue: pick(['billing', 'delivery', 'returns', 'sales']), startedAt: new Date(clock).toISOString(), durationSec: 30 + Math.floor(random() * 900), sentiment: Math.round((random() * 2 - 1) * 100) / 100, resolved: random() < 0.7 };
    const partition = customerId % 3;
    const offset = partitionOffsets[partition]++;
    events.calls.push({ stream: 'kafka:callcentre.calls', position: `kafka:callcentre.calls/${partition}/${offset}`, key: String(customerId), value, headers: [{ key: 'source', value: 'ivr-gateway' }, { key: 'schema', value: 'call.v2' }], eventTime: clock, ingestTime: clock + 15 + Math.floor(random() * 300) });
    callId++;
  }
}

// One poison record in the Kafka sample: a truncated JSON value, kept verbatim with a decode note.
const poison = '{"callId": 999999, "customerId": 1007, "agent": "agent-12", "queue": "bill';
events.calls.push({ stream: 'kafka:callcentre.calls', position: `kafka:callcentre.calls/1/${partitionOffsets[1]++}`, key: '1007', value: null, valueBytes: Buffer.from(poison).toString('base64'), decodeError: 'Invalid JSON: Unterminated string in JSON at position 73', headers: [{ key: 'source', value: 'ivr-gateway' }], eventTime: clock + 1000, ingestTime: clock + 1200 });

const write = (name, list) => writeFileSync(path.join(out, name), list.map((event) => JSON.stringify(event)).join('\n') + '\n');
write('shop-customers.jsonl', events.customers);
write('shop-orders.jsonl', events.orders);
write('callcentre-calls.jsonl', events.calls);
console.log(`demo samples: ${events.customers.length} customer changes, ${events.orders.length} order changes, ${events.calls.length} calls`);
