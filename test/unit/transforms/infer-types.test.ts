// Event types inferred from samples: nested objects, optional fields, nullable fields, CDC rows.
import { describe, expect, it } from 'vitest';
import { inferStreamTypes, typeNameFor } from '../../../main/engine/transforms/infer-types.js';
import { typecheckTransform } from '../../../main/engine/transforms/compile.js';

describe('inferStreamTypes', () => {
  it('types CDC rows from before and after images, with optional and nullable columns', () => {
    const samples = [
      { key: { id: 1 }, value: { before: null, after: { id: 1, name: 'a', note: null, address: { city: 'York' } }, source: {}, op: 'c' } },
      { key: { id: 2 }, value: { before: { id: 2, name: 'b', note: 'x', address: { city: 'Leith', zip: 'EH6' } }, after: null, source: {}, op: 'd' } },
    ];
    const types = inferStreamTypes('sqlserver:shop.dbo.People', samples);
    expect(types.typeName).toBe('SqlserverShopDboPeopleEvent');
    expect(types.declarations).toMatch(/id: number;/);
    expect(types.declarations).toMatch(/note: string \| null;/);
    expect(types.declarations).toMatch(/zip\?: string;/);
    expect(types.declarations).toMatch(/ChangeEvent<SqlserverShopDboPeopleRow, SqlserverShopDboPeopleKey>/);
    const use = "import type { Transform } from 'eddy';\nconst t: Transform<'sqlserver:shop.dbo.People'> = (event) => ({ value: [event.after?.address.city ?? null, event.before?.address.zip ?? null] });\nexport default t;\n";
    expect(typecheckTransform(use, 'transforms/t.ts', types.declarations)).toEqual([]);
  });

  it('types plain (Kafka) values and keys, arrays included', () => {
    const types = inferStreamTypes('kafka:callcentre.calls', [
      { key: '1018', value: { callId: 1, tags: ['a'], sentiment: 0.5 } },
      { key: '1019', value: { callId: 2, tags: [], sentiment: -1, resolved: true } },
    ]);
    expect(types.declarations).toMatch(/type KafkaCallcentreCallsValue = \{/);
    expect(types.declarations).toMatch(/tags: string\[\];/);
    expect(types.declarations).toMatch(/resolved\?: boolean;/);
    expect(types.declarations).toMatch(/type KafkaCallcentreCallsKey = string;/);
  });

  it('makes type names from stream names', () => {
    expect(typeNameFor('kafka:orders-v2')).toBe('KafkaOrdersV2');
    expect(typeNameFor('9lives')).toBe('Stream9lives');
  });
});
