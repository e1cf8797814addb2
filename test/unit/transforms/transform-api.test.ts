// The transform API is written twice: as TypeScript for the engine and the UI, and as text served
// to Monaco and the engine's type checks. They must be the same declarations.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformApiDeclarations } from '../../../shared/transform-api.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'transform-api.ts');

describe('transform API declarations', () => {
  it('serves exactly the declarations the TypeScript module exports', () => {
    const source = readFileSync(file, 'utf8');
    const region = source.slice(source.indexOf('// API:BEGIN\n') + '// API:BEGIN\n'.length, source.indexOf('// API:END'));
    const served = transformApiDeclarations.slice("declare module 'eddy' {\n".length, transformApiDeclarations.indexOf('\n}\n\n/** The console'));
    expect(served.trim()).toBe(region.trim());
  });

  it('declares the context the sandbox provides', () => {
    for (const member of ['state', 'lookup', 'log', 'now()', 'StreamEvents', 'ChangeEvent', 'OutputEvent']) expect(transformApiDeclarations).toContain(member);
  });
});
