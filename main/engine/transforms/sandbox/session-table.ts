// What both sandbox hosts (V8 isolates, QuickJS) keep alike: their open sessions by id, closed
// one by one or all at once; each host says how one of its sessions is disposed.
export abstract class SessionTable<S> {
  protected readonly sessions = new Map<string, S>();

  protected abstract dispose(session: S): void;

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
