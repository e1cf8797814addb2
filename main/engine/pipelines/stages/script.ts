// Transform and keyed stages: a batch of records through the stage's script session, with bounded
// retries per failing record (exponential backoff) and then a dead letter carrying the error, the
// script line, the stage and the record's origin. State writes of a keyed stage land in the
// epoch's overlay (namespace `script:<stage>`), so they are checkpointed with the positions.
//
// Retried records are re-run after the rest of their batch: retries exist for transient failures
// (a record stopped by the time limit on a busy machine); a deterministic failure fails every
// attempt and is dead-lettered without changing state.
import type { StageSpec } from '../../../../shared/pipeline-spec.js';
import { backoffMs, sleep, type Envelope, type Operator, type OperatorContext, type OperatorResult, type StageError } from '../model.js';
import { keyText, readPath } from '../paths.js';
import type { ScriptCall, ScriptCallResult, ScriptSession } from '../scripts.js';

type ScriptStage = Extract<StageSpec, { kind: 'transform' | 'keyed' }>;

export function scriptNamespace(stage: string): string {
  return `script:${stage}`;
}

export class ScriptOperator implements Operator {
  private stream: string | undefined;

  constructor(
    private readonly spec: ScriptStage,
    private readonly session: ScriptSession,
    private readonly pipeline: string,
  ) {}

  get id(): string {
    return this.spec.id;
  }

  get kind(): string {
    return this.spec.kind;
  }

  async process(inputs: Envelope[], context: OperatorContext): Promise<OperatorResult> {
    const result: OperatorResult = { outputs: [], deadLetters: [] };
    if (inputs.length === 0) return result;
    const calls: ScriptCall[] = inputs.map((envelope) => ({
      event: envelope.event,
      scope: this.spec.kind === 'keyed' ? keyText(readPath(envelope.event, this.spec.key)) : undefined,
    }));
    const environment = { now: () => context.now(), tables: context.tables };
    const first = await this.session.run(calls, environment);
    const slots: (Envelope[] | undefined)[] = new Array(inputs.length);
    const failed: { index: number; error: StageError }[] = [];
    first.forEach((outcome, index) => {
      if (outcome.ok) slots[index] = this.accept(inputs[index]!, outcome, context);
      else failed.push({ index, error: outcome.error });
      this.traceLogs(outcome, context);
    });
    for (const failure of failed) {
      let error = failure.error;
      let attempts = 1;
      // A record that failed because the sandbox itself was restarted gets more chances.
      const maxAttempts = () => (error.transient ? Math.max(context.retry.maxAttempts, 6) : context.retry.maxAttempts);
      while (attempts < maxAttempts() && !context.signal.aborted) {
        await sleep(error.transient ? Math.max(250, backoffMs(context.retry, attempts)) : backoffMs(context.retry, attempts), context.signal);
        attempts++;
        const [outcome] = await this.session.run([calls[failure.index]!], environment);
        if (!outcome) break;
        this.traceLogs(outcome, context);
        if (outcome.ok) {
          slots[failure.index] = this.accept(inputs[failure.index]!, outcome, context);
          break;
        }
        error = outcome.error;
      }
      if (slots[failure.index] === undefined) result.deadLetters.push({ envelope: inputs[failure.index]!, error, attempts });
    }
    for (const slot of slots) if (slot) result.outputs.push(...slot);
    return result;
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  private accept(input: Envelope, outcome: Extract<ScriptCallResult, { ok: true }>, context: OperatorContext): Envelope[] {
    for (const [key, value] of outcome.writes) {
      if (value === null) context.state.delete(scriptNamespace(this.id), key);
      else context.state.put(scriptNamespace(this.id), key, value);
      context.trace?.({ stage: this.id, kind: 'state-write', detail: { key: key.replace('\u0000', ' / '), value } });
    }
    const stream = (this.stream ??= `${this.pipeline}:${this.id}`);
    return outcome.outputs.map((event, index) => {
      // Outputs are new objects built from the script's result (fromTransformResult): named here
      // in place rather than copied again.
      event.stream = stream;
      return { event, origin: input.origin, order: input.order, lineage: `${input.lineage}/${this.id}.${index}` };
    });
  }

  private traceLogs(outcome: ScriptCallResult, context: OperatorContext): void {
    if (!context.trace) return;
    for (const line of outcome.logs) context.trace({ stage: this.id, kind: 'log', detail: line });
  }
}
