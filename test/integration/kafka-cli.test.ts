// `eddy capture kafka` and `eddy produce`, headless, as a user runs them: progress on stderr, a
// summary on stdout, and exit codes (0 done, 1 failed, 2 usage).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { findKafka, findSecuredKafka } from '../support/services.js';
import { consumeAll, createTopic, deleteTopics, produceAll, repoRoot, testKafka, uniqueTopic } from './kafka-helpers.js';

const brokers = await findKafka();
const secured = brokers ? await findSecuredKafka() : undefined;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe.runIf(brokers && secured)('eddy capture kafka / eddy produce', () => {
  const kafka = testKafka(brokers ?? []);
  const topic = uniqueTopic('cli');
  const target = uniqueTopic('cli-out');
  const outDir = path.join(repoRoot, 'node_modules', '.cache', 'eddy-tests');
  const cli = path.join(outDir, `kafka-cli-${process.pid}.mjs`);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'eddy-kafka-cli-'));
  const broker = (brokers ?? []).join(',');

  const eddy = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, [cli, ...args], { cwd: repoRoot, env: { ...process.env, EDDY_RESOURCES: repoRoot, EDDY_DATA_DIR: workspace, KAFKA_BROKERS: '', ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    await build({
      entryPoints: [path.join(repoRoot, 'main', 'cli', 'eddy.ts')],
      outfile: cli,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      logLevel: 'warning',
      define: { __EDDY_VERSION__: JSON.stringify(pkg.version) },
    });
    await createTopic(kafka, topic, 2);
    await createTopic(kafka, target, 2);
    await produceAll(
      kafka,
      topic,
      Array.from({ length: 400 }, (_, index) => ({ partition: index % 2, key: `k-${index}`, value: JSON.stringify({ index }), timestamp: String(1_767_225_600_000 + index * 1000) })),
    );
  });

  afterAll(async () => {
    rmSync(cli, { force: true });
    rmSync(workspace, { recursive: true, force: true });
    await deleteTopics(kafka, [topic, target]);
  });

  it('captures from an offset up to a limit and says what it did', async () => {
    const run = await eddy(['capture', 'kafka', '--brokers', broker, '--topic', `${topic}:1`, '--from', 'offset:50', '--max', '100', '--workspace', workspace]);
    expect(run.stderr).toContain(`Capturing ${topic}:1 into ${workspace}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Captured 100 events from ${topic} \\(1 partition\\(s\\)\\).*reached the message limit`));
  });

  it('captures a time range of all partitions, with KAFKA_BROKERS', async () => {
    const run = await eddy(['capture', 'kafka', '--topic', topic, '--from', 'time:2026-01-01T00:01:40Z', '--until', '2026-01-01T00:03:20Z', '--workspace', workspace, '--quiet'], { KAFKA_BROKERS: broker });
    expect(run.code, run.stderr).toBe(0);
    // Records 100..199: 100 events, 50 of them new (partition 1 offsets 50..99 are already stored).
    expect(run.stdout).toMatch(/Captured 100 events/);
  });

  it('replays the captured stream to another topic and produces one message', async () => {
    const run = await eddy(['produce', '--brokers', broker, '--topic', target, '--stream', `kafka:${topic}`, '--keep-partitions', '--workspace', workspace]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Replayed 150 event/);
    const one = await eddy(['produce', '--brokers', broker, '--topic', target, '--key', 'manual', '--value', '{"hello": "world"}', '--header', 'by=cli']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/Produced to .* at offset \d+/);
    const read = await consumeAll(kafka, target, { expected: 151 });
    expect(read).toHaveLength(151);
    expect(read.find((message) => message.key?.toString() === 'manual')?.value?.toString()).toBe('{"hello":"world"}');
  });

  it('captures through a saved SASL/SCRAM profile whose password is an environment variable, and says when the variable is missing', async () => {
    mkdirSync(path.join(workspace, 'connections'), { recursive: true });
    const profile = {
      id: 'scram',
      name: 'SCRAM broker',
      kind: 'kafka',
      brokers: secured!.sasl.brokers,
      sasl: { mechanism: 'scram-sha-256', username: secured!.sasl.user, password: '${env:EDDY_CLI_KAFKA_PASSWORD}' },
    };
    writeFileSync(path.join(workspace, 'connections', 'scram.json'), JSON.stringify(profile));
    const args = ['capture', 'kafka', '--connection', 'scram', '--topic', `${topic}:0`, '--from', 'oldest', '--max', '10', '--workspace', workspace];
    const run = await eddy(args, { EDDY_CLI_KAFKA_PASSWORD: secured!.sasl.password });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Captured 10 events/);
    const missing = await eddy(args, { EDDY_CLI_KAFKA_PASSWORD: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/SASL password \(\$\{env:EDDY_CLI_KAFKA_PASSWORD\}\) could not be resolved: The environment variable EDDY_CLI_KAFKA_PASSWORD is empty/);
    const wrong = await eddy(args, { EDDY_CLI_KAFKA_PASSWORD: 'wrong-password' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the credentials: SASL SCRAM SHA256 authentication failed/);
    expect(wrong.stderr).not.toContain('wrong-password');
  });

  it('exits 2 on bad usage and 1 with a plain reason when the broker is unreachable', async () => {
    const usage = await eddy(['capture', 'kafka', '--brokers', broker, '--workspace', workspace]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/name at least one topic/);
    const badFrom = await eddy(['capture', 'kafka', '--brokers', broker, '--topic', topic, '--from', 'yesterday', '--workspace', workspace]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toMatch(/--from must be/);
    const invalidJson = await eddy(['produce', '--brokers', broker, '--topic', target, '--value', '{oops}']);
    expect(invalidJson.code).toBe(1);
    expect(invalidJson.stderr).toMatch(/not valid JSON: line 1, column 2/);
    const refused = await eddy(['capture', 'kafka', '--brokers', '127.0.0.1:1', '--topic', topic, '--workspace', workspace]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Connection refused by 127\.0\.0\.1:1/);
  });
});
