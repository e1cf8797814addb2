// What the `eddy` command prints when a request is refused: one readable line, never zod's JSON,
// and `eddy run` names a pipeline path outside the workspace (or missing) before opening anything.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { cliErrorText } from '../../main/cli/command.js';
import { runCommand } from '../../main/cli/commands/run.js';
import { capturePostgresCommand } from '../../main/cli/commands/capture-postgres.js';

async function stderrOf(work: () => Promise<number>): Promise<{ code: number; text: string }> {
  let text = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    return { code: await work(), text };
  } finally {
    spy.mockRestore();
  }
}

describe('eddy command errors', () => {
  let workspace: string;
  beforeAll(async () => {
    workspace = await mkdtemp(path.join(os.tmpdir(), 'eddy-cli-errors-'));
    await mkdir(path.join(workspace, 'pipelines'));
  });
  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('turns a rejected request into one line naming the field', () => {
    const schema = z.object({ path: z.string().regex(/^pipelines\//, 'must be a path like pipelines/<name>.pipeline.json') });
    const parsed = schema.safeParse({ path: '/tmp/x.json' });
    expect(parsed.success).toBe(false);
    const text = cliErrorText(parsed.error);
    expect(text).toBe('Invalid request: path: must be a path like pipelines/<name>.pipeline.json');
    expect(cliErrorText(new Error('plain'))).toBe('plain');
    expect(cliErrorText('text')).toBe('text');
  });

  it('eddy run refuses a pipeline outside the workspace and a missing one, with usage exit code 2', async () => {
    const outside = await stderrOf(() => runCommand.run([path.join(os.tmpdir(), 'elsewhere.pipeline.json'), '--workspace', workspace]));
    expect(outside.code).toBe(2);
    expect(outside.text).toContain(`is not a pipeline of the workspace ${workspace}`);
    expect(outside.text).not.toContain('"code"');

    const notAPipeline = await stderrOf(() => runCommand.run([path.join(workspace, 'notes.json'), '--workspace', workspace]));
    expect(notAPipeline.code).toBe(2);
    expect(notAPipeline.text).toContain('pipelines/<name>.pipeline.json');

    const missing = await stderrOf(() => runCommand.run([path.join(workspace, 'pipelines', 'nope.pipeline.json'), '--workspace', workspace]));
    expect(missing.code).toBe(2);
    expect(missing.text).toContain(`no pipeline file ${path.join(workspace, 'pipelines', 'nope.pipeline.json')}`);
  });

  it('eddy capture postgres names the table it cannot read, as typed, before connecting', async () => {
    const result = await stderrOf(() => capturePostgresCommand.run(['--url', 'postgres://me@127.0.0.1:1/shop', '--tables', 'public.orders,customers', '--workspace', workspace]));
    expect(result.code).toBe(2);
    expect(result.text).toContain('--tables: "customers" is not a table as schema.table, e.g. public.orders');
    expect(result.text).not.toContain('tables.1');
  });
});
