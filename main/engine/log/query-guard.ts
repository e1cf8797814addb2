// The first of two guards on explorer SQL: a tokenizer that accepts one statement starting with
// SELECT, WITH or EXPLAIN and containing no statement keyword that writes or changes the
// connection. The second guard is where the SQL runs: a worker holding *copies* of the segments,
// opened with `PRAGMA query_only`, so even a statement that slipped past this check cannot reach
// the log.
import { EddyError } from '../../../shared/contract.js';

const FORBIDDEN = new Set([
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'ALTER',
  'ATTACH',
  'DETACH',
  'PRAGMA',
  'VACUUM',
  'REINDEX',
  'ANALYZE',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'LOAD_EXTENSION',
]);

interface Token {
  kind: 'word' | 'punct' | 'other';
  text: string;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new EddyError('VALIDATION', 'Unterminated /* comment in the query.');
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        if (j >= n) throw new EddyError('VALIDATION', `Unterminated ${c === "'" ? 'string' : 'quoted identifier'} in the query.`);
        if (sql[j] === close) {
          if (close !== ']' && sql[j + 1] === close) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      tokens.push({ kind: 'other', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      tokens.push({ kind: 'word', text: sql.slice(i, j).toUpperCase() });
      i = j;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** Returns the statement without a trailing semicolon, or throws a VALIDATION EddyError saying why. */
export function checkReadOnlySql(sql: string): string {
  const tokens = tokenize(sql);
  const first = tokens[0];
  if (!first) throw new EddyError('VALIDATION', 'The query is empty.');
  if (first.kind !== 'word' || !['SELECT', 'WITH', 'EXPLAIN'].includes(first.text)) {
    throw new EddyError('VALIDATION', 'Only read-only queries are allowed: start with SELECT, WITH or EXPLAIN.');
  }
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === ';') {
      if (i !== tokens.length - 1) throw new EddyError('VALIDATION', 'Only one statement is allowed per query.');
      continue;
    }
    if (token.kind !== 'word') continue;
    // REPLACE is also a string function: only the statement form is refused.
    if (token.text === 'REPLACE' && tokens[i + 1]?.text !== '(') {
      throw new EddyError('VALIDATION', 'The log is read-only here: REPLACE statements are not allowed.');
    }
    if (FORBIDDEN.has(token.text)) {
      throw new EddyError('VALIDATION', `The log is read-only here: ${token.text} is not allowed (quote the name if it is a column).`);
    }
  }
  const trimmed = sql.trim();
  return trimmed.endsWith(';') ? trimmed.slice(0, -1) : trimmed;
}
