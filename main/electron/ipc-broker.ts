// Main's side of the contract: a thin broker. It checks who is calling and that the command exists,
// then forwards the request to the engine unchanged (the engine validates the payload against the
// contract), and fans engine events out to every window. No business logic lives here.
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { isCommandName, type ErrorEnvelope, type WireEvent, type WireResponse } from '../../shared/contract.js';
import { isAppUrl } from './app-protocol.js';
import { EVENT_CHANNEL, REQUEST_CHANNEL, type BridgeResult } from './channels.js';

/** The part of the engine supervisor the broker needs. */
export interface EngineEndpoint {
  request(command: string, payload: unknown): Promise<WireResponse>;
  onEvent(listener: (event: WireEvent) => void): () => void;
}

type SenderEvent = Pick<IpcMainInvokeEvent, 'senderFrame'>;

/**
 * Only the top frame of a page on Eddy's own origin may call the engine. Anything else (an iframe,
 * a page the window was somehow navigated to, a frame already gone) is refused before the command
 * name is even looked at.
 */
export function checkSender(event: SenderEvent): ErrorEnvelope | undefined {
  let frame: SenderEvent['senderFrame'];
  let url: string | undefined;
  let isMainFrame = false;
  try {
    frame = event.senderFrame;
    url = frame?.url;
    isMainFrame = frame !== null && frame !== undefined && frame.parent === null;
  } catch {
    // A destroyed frame throws on access; it cannot be trusted either.
    frame = null;
  }
  if (!frame) return { code: 'FORBIDDEN', message: 'The calling frame is gone; the request was refused.' };
  if (!isMainFrame) return { code: 'FORBIDDEN', message: 'Only the main frame of an Eddy window may call the engine.' };
  if (!isAppUrl(url)) return { code: 'FORBIDDEN', message: 'The calling page is not part of Eddy; the request was refused.' };
  return undefined;
}

/** Handles one `eddy:request` invocation; never throws, so errors keep their envelope. */
export async function brokerRequest(
  engine: Pick<EngineEndpoint, 'request'>,
  event: SenderEvent,
  command: unknown,
  payload: unknown,
): Promise<BridgeResult> {
  const refused = checkSender(event);
  if (refused) return { ok: false, error: refused };
  if (typeof command !== 'string' || !isCommandName(command)) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_COMMAND',
        message: 'No such command in the contract.',
        details: { command: typeof command === 'string' ? command.slice(0, 100) : typeof command },
      },
    };
  }
  try {
    const response = await engine.request(command, payload);
    return response.ok ? { ok: true, result: response.result } : { ok: false, error: response.error };
  } catch (error) {
    return { ok: false, error: { code: 'INTERNAL', message: `The request could not be forwarded: ${String(error)}` } };
  }
}

/** Registers the request channel; returns a disposer. */
export function registerRequestBroker(engine: Pick<EngineEndpoint, 'request'>): () => void {
  ipcMain.handle(REQUEST_CHANNEL, (event, command: unknown, payload: unknown) => brokerRequest(engine, event, command, payload));
  return () => ipcMain.removeHandler(REQUEST_CHANNEL);
}

/** Sends one engine event to every window showing Eddy's own pages. */
export function broadcastEvent(event: WireEvent, windows: readonly BrowserWindow[] = BrowserWindow.getAllWindows()): void {
  for (const window of windows) {
    if (window.isDestroyed()) continue;
    const contents = window.webContents;
    if (contents.isDestroyed() || !isAppUrl(contents.getURL())) continue;
    contents.send(EVENT_CHANNEL, event.stream, event.payload);
  }
}

/** Forwards every engine event (and the supervisor's `onEngineStatus`) to the windows; returns a disposer. */
export function forwardEngineEvents(engine: Pick<EngineEndpoint, 'onEvent'>): () => void {
  return engine.onEvent((event) => broadcastEvent(event));
}
