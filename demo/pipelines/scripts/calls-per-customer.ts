// Keyed by customer: counts call-centre calls and keeps the latest sentiment. A call whose value
// could not be decoded never gets here: the pipeline dead-letters it at the source.
import type { Transform } from 'eddy';

interface Call {
  callId: number;
  customerId: number;
  queue: string;
  durationSec: number;
  sentiment: number;
  resolved: boolean;
}

const transform: Transform = (event, ctx) => {
  const call = event.value as unknown as Call;
  if (typeof call.customerId !== 'number') throw new Error(`call ${call.callId} has no customerId`);
  const calls = (ctx.state.get<number>('calls') ?? 0) + 1;
  const unresolved = (ctx.state.get<number>('unresolved') ?? 0) + (call.resolved ? 0 : 1);
  ctx.state.put('calls', calls);
  ctx.state.put('unresolved', unresolved);
  return { key: call.customerId, value: { customerId: call.customerId, calls, unresolved, lastQueue: call.queue, lastSentiment: call.sentiment } };
};

export default transform;
