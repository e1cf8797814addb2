import { describe, it, expect } from 'vitest';
import { checkReadOnlySql } from '../../../main/engine/log/query-guard.js';
import { EddyError } from '../../../shared/contract.js';

describe('read-only SQL guard', () => {
  it.each([
    'SELECT * FROM events',
    "select json_extract(value, '$.after.id') from events where stream = 'a';",
    'WITH x AS (SELECT seq FROM events) SELECT count(*) FROM x',
    'EXPLAIN QUERY PLAN SELECT * FROM events',
    "SELECT replace(value, 'a', 'b') FROM events",
    "SELECT 'DELETE FROM events; DROP TABLE x' AS text",
    'SELECT "update" FROM (SELECT 1 AS "update")',
    'SELECT * FROM pragma_table_info(\'events\')',
    'SELECT 1; -- trailing comment',
    'SELECT CASE WHEN op = \'d\' THEN 1 ELSE 0 END FROM events',
  ])('accepts %s', (sql) => {
    expect(() => checkReadOnlySql(sql)).not.toThrow();
  });

  it.each([
    ['DELETE FROM event_rows', 'start with SELECT'],
    ['PRAGMA query_only = 0', 'start with SELECT'],
    ['ATTACH DATABASE \'x\' AS y', 'start with SELECT'],
    ['SELECT 1; DELETE FROM event_rows', 'one statement'],
    ['WITH x AS (SELECT 1) DELETE FROM event_rows', 'DELETE'],
    ['WITH x AS (SELECT 1) INSERT INTO event_rows SELECT * FROM x', 'INSERT'],
    ['WITH x AS (SELECT 1) REPLACE INTO event_rows SELECT * FROM x', 'REPLACE'],
    ['SELECT load_extension(\'x\')', 'LOAD_EXTENSION'],
    ['  ', 'empty'],
    ["SELECT 'unterminated", 'Unterminated'],
  ])('refuses %s', (sql, message) => {
    try {
      checkReadOnlySql(sql);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EddyError);
      expect((error as EddyError).code).toBe('VALIDATION');
      expect((error as EddyError).message).toContain(message);
    }
  });
});
