// The two IPC channels between the preload and main, and the plain-object shape of a request's
// result. Kept free of `electron` imports so the sandboxed preload bundle and main share it.
import type { ErrorEnvelope } from '../../shared/contract.js';

/** Renderer → main: `invoke(REQUEST_CHANNEL, commandName, payload)` resolves to a `BridgeResult`. */
export const REQUEST_CHANNEL = 'eddy:request';

/** Main → renderer: `send(EVENT_CHANNEL, streamName, payload)` for every engine event. */
export const EVENT_CHANNEL = 'eddy:event';

/**
 * What a command resolves to across the bridge. A plain object rather than a thrown error because
 * `contextBridge` copies only an Error's message: the renderer's client rebuilds `EddyError` from
 * the envelope so `code` and `details` survive.
 */
export type BridgeResult<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorEnvelope };
