// Saving text the engine produced (an export) as a file the user downloads; and asking to reveal
// one event in its stream's tab ("Go to event", links).
import { createStore } from '../../app/store';
import { openStream } from '../../app/ui-state';

export function downloadText(filename: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const revealRequests = createStore<{ stream: string | null; position: string | null; nonce: number }>({ stream: null, position: null, nonce: 0 });

export function revealEvent(stream: string, position: string): void {
  openStream(stream);
  revealRequests.set((state) => ({ stream, position, nonce: state.nonce + 1 }));
}
