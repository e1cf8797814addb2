// The guided tour of the demo workspace: a few short steps through explore, transform, test,
// pipeline and export, each pointing at the part of the screen it talks about. It opens once on
// the demo workspace, can be skipped at any step (Esc), is remembered, and can be started again
// from the command palette.
import { useEffect, useLayoutEffect, useState, type CSSProperties, type JSX } from 'react';
import { openStream, ui, useUi } from '../../app/ui-state';

interface Step {
  title: string;
  text: string;
  /** CSS selector of what the step points at; none: the lower right corner. */
  anchor?: string;
  /** Runs when the step opens (e.g. open the stream it talks about). */
  enter?: () => void;
}

const DEMO_STREAM = 'sqlserver:shop.dbo.Customers';

export const tourSteps: Step[] = [
  {
    title: 'Welcome to Eddy',
    text: 'This demo workspace holds real-looking change events from a shop database (customers and orders) and call-centre events from a Kafka topic, already captured into the local event log. Nothing to set up. The tour shows the way from these events to a running pipeline: explore, transform, test, run, export.',
  },
  {
    title: '1 · Explore',
    text: 'Each stream is one source: a CDC table or a Kafka topic, with its event count and time range. Click one to browse every event; the grid stays fast on millions of events.',
    anchor: '[data-tour="streams"]',
    enter: () => ui.set({ activity: 'explorer', sideVisible: true }),
  },
  {
    title: '1 · Explore: one change',
    text: 'Click a row to see the event: a change event shows its before and after with the changed fields highlighted (try the update, “u”, of Chloé Martin who moves to Lyon). Filter by text or field, add a field as a column, or query everything with SQL.',
    anchor: '[data-testid="event-grid"]',
    enter: () => openStream(DEMO_STREAM),
  },
  {
    title: '2 · Transform',
    text: 'Transforms are small TypeScript functions from an event to zero or more events, kept as files in the workspace. Write one here against the events you just explored.',
    anchor: '[data-activity="transforms"]',
  },
  {
    title: '3 · Test',
    text: 'Pin sample events, the expected output and the time as a test; tests run here and headless with `eddy test` in CI.',
    anchor: '[data-activity="tests"]',
  },
  {
    title: '4 · Pipeline',
    text: 'A pipeline chains sources, transforms and sinks and runs locally with state and event time. Records a stage rejects go to Dead letters in the bottom panel, with the reason.',
    anchor: '[data-activity="pipelines"]',
  },
  {
    title: '5 · Export',
    text: 'Select events (Shift-click, Ctrl+A) and export them as JSON Lines to make test fixtures, or as CSV for a spreadsheet. Tested pipelines export to Kafka and Kafka Connect for production.',
    anchor: '[data-tour="export"]',
    enter: () => openStream(DEMO_STREAM),
  },
  {
    title: 'You are set',
    text: 'Ctrl+Shift+P opens the command palette with every action and its shortcut; “Start the guided tour” brings this back. The status bar shows the engine and any running job, with Cancel.',
  },
];

export function startTour(): void {
  ui.set({ tourDone: false, tourStep: 0, tourOffered: true });
}

export function endTour(): void {
  ui.set({ tourDone: true, tourOffered: true });
}

function useAnchorRect(selector: string | undefined, step: number): DOMRect | null {
  const [rect, setRect] = useState<DOMRect | null>(null);
  useLayoutEffect(() => {
    if (!selector) {
      setRect(null);
      return;
    }
    let frame = 0;
    let tries = 0;
    const measure = (): void => {
      const element = document.querySelector(selector);
      const next = element?.getBoundingClientRect() ?? null;
      setRect((current) => (current && next && current.x === next.x && current.y === next.y && current.width === next.width && current.height === next.height ? current : next));
      // The anchor may appear a moment later (a tab opening): look again for a second or so.
      if (!element && tries++ < 60) frame = requestAnimationFrame(measure);
    };
    measure();
    const onResize = (): void => measure();
    window.addEventListener('resize', onResize);
    const timer = setInterval(measure, 500);
    return () => {
      cancelAnimationFrame(frame);
      clearInterval(timer);
      window.removeEventListener('resize', onResize);
    };
  }, [selector, step]);
  return rect;
}

export function Tour({ isDemo }: { isDemo: boolean }): JSX.Element | null {
  const done = useUi((state) => state.tourDone);
  const offered = useUi((state) => state.tourOffered);
  const index = useUi((state) => state.tourStep);
  const active = !done && (offered || isDemo);
  const step = tourSteps[Math.min(index, tourSteps.length - 1)]!;
  const rect = useAnchorRect(active ? step.anchor : undefined, index);

  useEffect(() => {
    if (active && !offered) ui.set({ tourOffered: true });
  }, [active, offered]);
  useEffect(() => {
    if (active) step.enter?.();
  }, [active, index]);
  useEffect(() => {
    if (!active) return;
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') endTour();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [active]);

  if (!active) return null;
  const last = index >= tourSteps.length - 1;
  const width = 360;
  // Unanchored (the welcome): in the lower right corner, clear of the welcome page's text and buttons.
  let style: CSSProperties = { width, right: 24, bottom: 48 };
  if (rect) {
    const room = window.innerWidth - rect.right;
    const left = room > width + 24 ? rect.right + 14 : Math.max(12, Math.min(window.innerWidth - width - 12, rect.left));
    const top = room > width + 24 ? Math.max(12, Math.min(window.innerHeight - 260, rect.top)) : Math.min(window.innerHeight - 260, rect.bottom + 12);
    style = { width, left, top };
  }
  return (
    <>
      {rect ? <div className="tour-ring" style={{ left: rect.left - 4, top: rect.top - 4, width: rect.width + 8, height: rect.height + 8 }} aria-hidden="true" /> : null}
      <div className="tour-card" role="dialog" aria-label="Guided tour" aria-live="polite" style={style} data-testid="tour">
        <div className="tour-progress" aria-hidden="true">
          {tourSteps.map((_, i) => (
            <span key={i} className={i === index ? 'dot active' : i < index ? 'dot done' : 'dot'} />
          ))}
        </div>
        <h3>{step.title}</h3>
        <p>{step.text}</p>
        <div className="actions">
          <button onClick={endTour}>Skip tour</button>
          <span className="spacer" />
          {index > 0 ? <button onClick={() => ui.set({ tourStep: index - 1 })}>Back</button> : null}
          <button className="primary" autoFocus onClick={() => (last ? endTour() : ui.set({ tourStep: index + 1 }))}>
            {last ? 'Done' : index === 0 ? 'Show me' : 'Next'}
          </button>
        </div>
        <p className="hint tour-count">
          Step {index + 1} of {tourSteps.length} · Esc to close
        </p>
      </div>
    </>
  );
}
