// A drag handle between two panes (side bar, bottom panel, event detail). It reports the new size
// at most once per animation frame; the keyboard moves it too (arrows, 16 px a step).
import { useRef, type JSX } from 'react';

export function Sash({
  direction,
  size,
  min,
  max,
  onResize,
  invert = false,
  label,
}: {
  direction: 'vertical' | 'horizontal';
  size: number;
  min: number;
  max: number;
  onResize: (size: number) => void;
  /** The pane grows when dragging left/up (a pane to the right of or below the sash). */
  invert?: boolean;
  label: string;
}): JSX.Element {
  const frame = useRef(0);
  const clamp = (value: number): number => Math.round(Math.min(max, Math.max(min, value)));
  return (
    <div
      className={`sash ${direction}`}
      role="separator"
      aria-orientation={direction === 'vertical' ? 'vertical' : 'horizontal'}
      aria-label={label}
      aria-valuenow={size}
      aria-valuemin={min}
      aria-valuemax={max}
      tabIndex={0}
      onKeyDown={(event) => {
        const step = event.shiftKey ? 64 : 16;
        const grow = direction === 'vertical' ? (event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0) : event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0;
        if (grow === 0) return;
        event.preventDefault();
        onResize(clamp(size + (invert ? -grow : grow) * step));
      }}
      onPointerDown={(event) => {
        event.preventDefault();
        const target = event.currentTarget;
        target.setPointerCapture(event.pointerId);
        const start = direction === 'vertical' ? event.clientX : event.clientY;
        const initial = size;
        document.body.classList.add(direction === 'vertical' ? 'resizing-x' : 'resizing-y');
        const move = (moveEvent: PointerEvent): void => {
          const delta = (direction === 'vertical' ? moveEvent.clientX : moveEvent.clientY) - start;
          cancelAnimationFrame(frame.current);
          frame.current = requestAnimationFrame(() => onResize(clamp(initial + (invert ? -delta : delta))));
        };
        const up = (): void => {
          target.removeEventListener('pointermove', move);
          target.removeEventListener('pointerup', up);
          target.removeEventListener('pointercancel', up);
          document.body.classList.remove('resizing-x', 'resizing-y');
        };
        target.addEventListener('pointermove', move);
        target.addEventListener('pointerup', up);
        target.addEventListener('pointercancel', up);
      }}
    />
  );
}
