// What both sandbox hosts (V8 isolates, QuickJS) keep alike: their open sessions by id, opened
// (a load error is returned, not thrown), closed one by one or all at once. Each host says how one
// of its sessions is loaded, how a load error reads, and how a session is disposed.
import type { OpenSpec, RawError } from './quickjs-host.js';

export abstract class SessionTable<S> {
  protected readonly sessions = new Map<string, S>();

  protected abstract loadSession(spec: OpenSpec): S | Promise<S>;
  protected abstract loadError(error: unknown): RawError;
  protected abstract dispose(session: S): void;

  /** Compiles the module into a fresh session; a load error (syntax, import, a throw at top level) is returned, not thrown. */
  async open(id: string, spec: OpenSpec): Promise<{ ok: true } | { ok: false; error: RawError }> {
    this.close(id);
    try {
      this.sessions.set(id, await this.loadSession(spec));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: this.loadError(error) };
    }
  }

  close(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.dispose(session);
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}
