// The workspace's transform and test files: `transforms/<name>.ts|js` and
// `tests/<name>.test.json`, plain files a team keeps in git. Paths are validated by the contract;
// here they are resolved inside the workspace root and nowhere else.
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EddyError } from '../../../shared/contract-kit.js';
import { TestFileSchema, type TestFile, type TestInfo, type TransformInfo } from '../../../shared/contracts/transforms.js';
import { languageOf } from './compile.js';

export function resolveInside(root: string, relative: string): string {
  const file = path.resolve(root, relative);
  if (!file.startsWith(path.resolve(root) + path.sep)) throw new EddyError('FORBIDDEN', `${relative} is outside the workspace.`);
  return file;
}

/** The stream a script names in `Transform<'...'>` (or a `// @stream name` comment). */
export function declaredStream(source: string): string | null {
  const match = /Transform<\s*(['"])([^'"]+)\1\s*>/.exec(source) ?? /\/\/\s*@stream\s+(\S+)()/.exec(source);
  if (!match) return null;
  return match[2] || match[1] || null;
}

async function listFiles(root: string, folder: string, pattern: RegExp): Promise<string[]> {
  try {
    const names = await readdir(path.join(root, folder));
    return names.filter((name) => pattern.test(name)).sort().map((name) => `${folder}/${name}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function transformInfo(root: string, relative: string, source?: string): Promise<TransformInfo> {
  const file = resolveInside(root, relative);
  const info = await stat(file);
  const text = source ?? (await readFile(file, 'utf8'));
  return {
    path: relative,
    name: path.basename(relative).replace(/\.(ts|js)$/, ''),
    language: languageOf(relative),
    size: info.size,
    modifiedAt: info.mtimeMs,
    stream: declaredStream(text),
  };
}

export async function listTransforms(root: string): Promise<TransformInfo[]> {
  const files = await listFiles(root, 'transforms', /^[A-Za-z0-9][A-Za-z0-9._-]*\.(ts|js)$/);
  return Promise.all(files.map((file) => transformInfo(root, file)));
}

export async function readText(root: string, relative: string): Promise<string> {
  try {
    return await readFile(resolveInside(root, relative), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new EddyError('NOT_FOUND', `${relative} does not exist in the workspace.`);
    throw error;
  }
}

/** Writes through a temporary file and a rename, so an editor or git never sees half a file. */
export async function writeText(root: string, relative: string, text: string): Promise<void> {
  const file = resolveInside(root, relative);
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

export async function exists(root: string, relative: string): Promise<boolean> {
  try {
    await stat(resolveInside(root, relative));
    return true;
  } catch {
    return false;
  }
}

export async function readTest(root: string, relative: string): Promise<TestFile> {
  const text = await readText(root, relative);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EddyError('VALIDATION', `${relative} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = TestFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EddyError('VALIDATION', `${relative} is not a valid test: ${issue ? `${issue.path.join('.') || '(file)'}: ${issue.message}` : 'invalid'}`, { issues: parsed.error.issues });
  }
  return parsed.data;
}

export async function listTests(root: string): Promise<TestInfo[]> {
  const files = await listFiles(root, 'tests', /^[A-Za-z0-9][A-Za-z0-9._-]*\.test\.json$/);
  return Promise.all(
    files.map(async (file): Promise<TestInfo> => {
      try {
        const test = await readTest(root, file);
        return { path: file, name: test.name, transform: test.transform, events: test.events.length };
      } catch (error) {
        return { path: file, name: path.basename(file, '.test.json'), transform: null, events: 0, invalid: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** `Paid orders (3 events)` -> `tests/paid-orders-3-events.test.json`. */
export function testPathFor(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'test';
  return `tests/${slug}.test.json`;
}

/** Test files are written with stable formatting so diffs in git stay small. */
export function formatTest(test: TestFile): string {
  return `${JSON.stringify(test, null, 2)}\n`;
}
