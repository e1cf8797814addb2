// Compiles a transform script (TypeScript or JavaScript) to the ES module the sandbox loads, with a
// source map so a runtime error's line is reported in the user's source. esbuild strips types (it
// does not check them); `typecheckTransform` uses TypeScript's own compiler for type diagnostics
// against the API and the stream's inferred event types. If esbuild cannot be loaded, TypeScript's
// transpiler is used instead.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as EsbuildApi from 'esbuild';
import type * as TypeScriptApi from 'typescript';
import type { Diagnostic } from '../../../shared/contracts/transforms.js';
import { TRANSFORM_API_MODULE, transformApiDeclarations } from '../../../shared/transform-api.js';

export interface CompiledTransform {
  ok: boolean;
  /** The ES module's code (empty when `ok` is false). */
  code: string;
  /** The name stack traces use for the script (its workspace path). */
  filename: string;
  diagnostics: Diagnostic[];
  /** Maps a 1-based line and column of `code` to the source's. */
  map: (line: number, column: number) => { line: number; column: number } | null;
}

const require = createRequire(import.meta.url);
type Esbuild = typeof EsbuildApi;
type TypeScript = typeof TypeScriptApi;
let esbuild: Esbuild | null | undefined;
let typescript: TypeScript | undefined;

function loadEsbuild(): Esbuild | null {
  if (esbuild === undefined) {
    try {
      esbuild = require('esbuild') as Esbuild;
    } catch {
      esbuild = null;
    }
  }
  return esbuild;
}

function loadTypeScript(): TypeScript {
  typescript ??= require('typescript') as TypeScript;
  return typescript;
}

export function languageOf(filename: string): 'ts' | 'js' {
  return /\.(js|mjs|cjs)$/i.test(filename) ? 'js' : 'ts';
}

export async function compileTransform(source: string, filename: string): Promise<CompiledTransform> {
  const builder = loadEsbuild();
  const compiled = builder ? await compileWithEsbuild(builder, source, filename) : compileWithTypeScript(source, filename);
  if (compiled.ok) compiled.diagnostics.push(...checkModuleShape(source, compiled.code, compiled.map));
  compiled.ok = compiled.diagnostics.every((diagnostic) => diagnostic.severity !== 'error');
  if (!compiled.ok) compiled.code = '';
  return compiled;
}

async function compileWithEsbuild(builder: Esbuild, source: string, filename: string): Promise<CompiledTransform> {
  try {
    const result = await builder.transform(source, {
      loader: languageOf(filename),
      format: 'esm',
      target: 'es2022',
      sourcemap: 'external',
      sourcefile: filename,
      logLevel: 'silent',
      // Decorators, enums and namespaces compile; `import x = require()` does not exist in a sandbox.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: false, useDefineForClassFields: true } },
    });
    const diagnostics: Diagnostic[] = result.warnings.map((warning) => fromEsbuild(warning, 'warning'));
    return { ok: true, code: result.code, filename, diagnostics, map: lineMapper(result.map) };
  } catch (error) {
    const failure = error as { errors?: EsbuildApi.Message[]; warnings?: EsbuildApi.Message[] };
    const diagnostics = [...(failure.errors ?? []).map((message) => fromEsbuild(message, 'error')), ...(failure.warnings ?? []).map((message) => fromEsbuild(message, 'warning'))];
    if (diagnostics.length === 0) diagnostics.push({ severity: 'error', message: String(error), line: 1, column: 1, source: 'compile' });
    return { ok: false, code: '', filename, diagnostics, map: () => null };
  }
}

function fromEsbuild(message: EsbuildApi.Message, severity: 'error' | 'warning'): Diagnostic {
  const location = message.location;
  return {
    severity,
    message: message.text,
    line: location?.line ?? 1,
    column: (location?.column ?? 0) + 1,
    ...(location ? { endLine: location.line, endColumn: location.column + 1 + Math.max(1, location.length) } : {}),
    source: 'compile',
  };
}

function compileWithTypeScript(source: string, filename: string): CompiledTransform {
  const ts = loadTypeScript();
  const output = ts.transpileModule(source, {
    fileName: filename,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true, inlineSources: false },
  });
  const diagnostics = (output.diagnostics ?? []).map((diagnostic) => fromTypeScript(ts, diagnostic, 'compile'));
  const code = output.outputText.replace(/\n\/\/# sourceMappingURL=.*$/, '');
  return { ok: diagnostics.length === 0, code, filename, diagnostics, map: lineMapper(output.sourceMapText ?? '') };
}

function fromTypeScript(ts: TypeScript, diagnostic: TypeScriptApi.Diagnostic, source: Diagnostic['source']): Diagnostic {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  const severity = diagnostic.category === ts.DiagnosticCategory.Error ? 'error' : 'warning';
  if (!diagnostic.file || diagnostic.start === undefined) return { severity, message, line: 1, column: 1, source };
  const start = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const end = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start + (diagnostic.length ?? 1));
  return { severity, message, line: start.line + 1, column: start.character + 1, endLine: end.line + 1, endColumn: end.character + 1, source };
}

/** Imports cannot work in the sandbox (there is nothing to import): say so at compile time. */
function checkModuleShape(source: string, code: string, map: CompiledTransform['map']): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const importPattern = /^\s*(?:import|export)\s[^;]*?\bfrom\s*(['"])([^'"]+)\1|^\s*import\s*(['"])([^'"]+)\3/gm;
  for (const match of code.matchAll(importPattern)) {
    const specifier = match[2] ?? match[4] ?? '';
    const generatedLine = code.slice(0, match.index).split('\n').length;
    const mapped = map(generatedLine, 1) ?? locate(source, specifier);
    diagnostics.push({
      severity: 'error',
      message:
        specifier === TRANSFORM_API_MODULE
          ? `Only types can be imported from '${TRANSFORM_API_MODULE}' (write \`import type { ... } from '${TRANSFORM_API_MODULE}'\`).`
          : `Transforms cannot import modules ('${specifier}'): scripts run in a sandbox without files, network or packages.`,
      line: mapped.line,
      column: mapped.column,
      source: 'compile',
    });
  }
  if (!/\bexport\s+default\b|\bas\s+default\b/.test(code)) {
    diagnostics.push({ severity: 'error', message: 'A transform must `export default` a function (event, ctx) => events.', line: 1, column: 1, source: 'compile' });
  }
  return diagnostics;
}

function locate(source: string, text: string): { line: number; column: number } {
  const index = Math.max(0, source.indexOf(text));
  const before = source.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

// ---------------------------------------------------------------------------------------------
// Source maps (version 3, one source): decode the VLQ mappings into per-line segments.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGITS = new Map([...BASE64].map((char, index) => [char, index]));

/** Maps a generated (line, column) back to the source through an esbuild/TypeScript source map. */
export function lineMapper(mapJson: string): CompiledTransform['map'] {
  let lines: [number, number, number][][] = [];
  try {
    lines = decodeMappings((JSON.parse(mapJson) as { mappings?: string }).mappings ?? '');
  } catch {
    lines = [];
  }
  return (line, column) => {
    const segments = lines[line - 1];
    if (!segments || segments.length === 0) return null;
    let best = segments[0]!;
    for (const segment of segments) {
      if (segment[0] <= column - 1) best = segment;
      else break;
    }
    return { line: best[1] + 1, column: best[2] + 1 };
  };
}

/** Per generated line: [generated column, source line, source column] (0-based). */
export function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = [];
  let sourceLine = 0;
  let sourceColumn = 0;
  let sourceIndex = 0;
  let nameIndex = 0;
  for (const lineText of mappings.split(';')) {
    const segments: [number, number, number][] = [];
    let generatedColumn = 0;
    for (const segmentText of lineText.split(',')) {
      if (segmentText === '') continue;
      const values = decodeVlq(segmentText);
      generatedColumn += values[0] ?? 0;
      if (values.length >= 4) {
        sourceIndex += values[1]!;
        sourceLine += values[2]!;
        sourceColumn += values[3]!;
        if (values.length >= 5) nameIndex += values[4]!;
        segments.push([generatedColumn, sourceLine, sourceColumn]);
      }
    }
    lines.push(segments);
  }
  void sourceIndex;
  void nameIndex;
  return lines;
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = DIGITS.get(char);
    if (digit === undefined) throw new Error(`bad VLQ digit ${char}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      const negative = value & 1;
      value >>>= 1;
      values.push(negative ? -value : value);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** Rewrites a QuickJS stack (`at fn (file:line:col)`) to the source's lines and finds where it threw. */
export function mapStack(compiled: Pick<CompiledTransform, 'filename' | 'map'>, stack: string): { stack: string; line: number | null; column: number | null } {
  let line: number | null = null;
  let column: number | null = null;
  const kept: string[] = [];
  for (const frame of stack.split('\n')) {
    if (frame.trim() === '' || frame.includes('eddy:runner')) continue;
    const rewritten = frame.replace(/\(([^()]*?):(\d+)(?::(\d+))?\)/, (whole, file: string, lineText: string, columnText: string | undefined) => {
      if (file !== compiled.filename) return whole;
      const mapped = compiled.map(Number(lineText), Number(columnText ?? 1));
      if (!mapped) return whole;
      if (line === null) {
        line = mapped.line;
        column = mapped.column;
      }
      return `(${file}:${mapped.line}:${mapped.column})`;
    });
    kept.push(rewritten);
  }
  return { stack: kept.join('\n'), line, column };
}

// ---------------------------------------------------------------------------------------------
// Type checking with TypeScript's compiler, against the API and optional stream declarations.

const libCache = new Map<string, TypeScriptApi.SourceFile>();

export function typecheckTransform(source: string, filename: string, streamDeclarations = ''): Diagnostic[] {
  const ts = loadTypeScript();
  const options: TypeScriptApi.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    strict: true,
    noEmit: true,
    allowJs: true,
    checkJs: languageOf(filename) === 'js',
    skipLibCheck: true,
    types: [],
  };
  const root = '/eddy-check';
  const scriptFile = path.posix.join(root, filename);
  const virtual = new Map<string, string>([
    [scriptFile, source],
    [path.posix.join(root, 'eddy-api.d.ts'), transformApiDeclarations],
    [path.posix.join(root, 'eddy-streams.d.ts'), streamDeclarations],
  ]);
  const host = ts.createCompilerHost(options);
  const defaultGetSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = virtual.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    const cached = libCache.get(fileName);
    if (cached) return cached;
    const file = defaultGetSourceFile(fileName, languageVersion, onError, shouldCreate);
    if (file) libCache.set(fileName, file);
    return file;
  };
  const defaultFileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(fileName) || defaultFileExists(fileName);
  const defaultReadFile = host.readFile.bind(host);
  host.readFile = (fileName) => virtual.get(fileName) ?? defaultReadFile(fileName);
  host.writeFile = () => undefined;
  const program = ts.createProgram([...virtual.keys()], options, host);
  const file = program.getSourceFile(scriptFile);
  const all = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  return all.map((diagnostic) => fromTypeScript(ts, diagnostic, 'typecheck'));
}
