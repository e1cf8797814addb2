// Compiling transforms: TypeScript to the sandbox's module, errors on the user's own lines, and the
// module shape the sandbox needs (a default export, no imports).
import { describe, expect, it } from 'vitest';
import { compileTransform, decodeMappings, mapStack, typecheckTransform } from '../../../main/engine/transforms/compile.js';

describe('compileTransform', () => {
  it('strips types and maps generated lines back to the source', async () => {
    const source = ["import type { Transform } from 'eddy';", '', 'interface Extra { a: number }', "const t: Transform = (event) => {", '  const x: Extra = { a: 1 };', "  throw new Error('x' + x.a);", '};', 'export default t;'].join('\n');
    const compiled = await compileTransform(source, 'transforms/t.ts');
    expect(compiled.ok).toBe(true);
    expect(compiled.code).not.toContain('interface');
    const throwLine = compiled.code.split('\n').findIndex((line) => line.includes('throw')) + 1;
    expect(compiled.map(throwLine, 3)?.line).toBe(6);
    const mapped = mapStack(compiled, `    at t (transforms/t.ts:${throwLine}:11)\n    at step (eddy:runner:10:2)\n`);
    expect(mapped.line).toBe(6);
    expect(mapped.stack).toBe('    at t (transforms/t.ts:6:3)'.replace(':3)', `:${mapped.column})`));
    expect(mapped.stack).not.toContain('eddy:runner');
  });

  it('reports syntax errors at their line and column', async () => {
    const compiled = await compileTransform('export default function (event) {\n  return { value: 1 +  };\n}\n', 'transforms/t.ts');
    expect(compiled.ok).toBe(false);
    expect(compiled.diagnostics[0]).toMatchObject({ severity: 'error', source: 'compile', line: 2 });
  });

  it('refuses imports and a missing default export', async () => {
    const imports = await compileTransform("import { readFileSync } from 'node:fs';\nexport default () => readFileSync('x');\n", 'transforms/t.ts');
    expect(imports.ok).toBe(false);
    expect(imports.diagnostics[0]!.message).toMatch(/cannot import modules \('node:fs'\)/);
    expect(imports.diagnostics[0]!.line).toBe(1);
    const noDefault = await compileTransform('export const t = () => null;\n', 'transforms/t.js');
    expect(noDefault.diagnostics[0]!.message).toMatch(/export default/);
  });

  it('decodes source map mappings', () => {
    // "AAAA;AACA" = line 1 col 0 -> source 0:0; line 2 col 0 -> source 1:0.
    expect(decodeMappings('AAAA;AACA')).toEqual([[[0, 0, 0]], [[0, 1, 0]]]);
  });

  it('type-checks against the API and inferred stream types', () => {
    const streams = "declare module 'eddy' { interface StreamEvents { 's': ChangeEvent<{ Amount: number }, number> } }";
    const good = "import type { Transform } from 'eddy';\nconst t: Transform<'s'> = (event, ctx) => ({ value: (event.after?.Amount ?? 0) + ctx.now() });\nexport default t;\n";
    expect(typecheckTransform(good, 'transforms/t.ts', streams)).toEqual([]);
    const bad = "import type { Transform } from 'eddy';\nconst t: Transform<'s'> = (event) => ({ value: event.after?.Amont ?? 0 });\nexport default t;\n";
    const problems = typecheckTransform(bad, 'transforms/t.ts', streams);
    expect(problems[0]).toMatchObject({ severity: 'error', source: 'typecheck', line: 2 });
    expect(problems[0]!.message).toMatch(/Amont/);
  });
});
