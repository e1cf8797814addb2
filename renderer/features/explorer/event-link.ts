// Links to one event: `eddy://event?stream=…&position=…`. The position is the event's identity in
// the log, so a link survives restarts and re-imports; "Go to event" opens one.
export function eventLink(stream: string, position: string): string {
  return `eddy://event?stream=${encodeURIComponent(stream)}&position=${encodeURIComponent(position)}`;
}

export function parseEventLink(text: string): { stream: string; position: string } | null {
  const trimmed = text.trim();
  const match = /^eddy:\/\/event\?(.*)$/.exec(trimmed) ?? /^#?event\?(.*)$/.exec(trimmed);
  if (!match) return null;
  const params = new URLSearchParams(match[1]);
  const stream = params.get('stream');
  const position = params.get('position');
  return stream && position ? { stream, position } : null;
}
