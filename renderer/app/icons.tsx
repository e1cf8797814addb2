// Line icons for the activity bar and toolbars (24x24, stroke follows the text colour).
import type { JSX, ReactNode } from 'react';

function Icon({ children, size = 22 }: { children: ReactNode; size?: number }): JSX.Element {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

export const icons = {
  explorer: (
    <Icon>
      <path d="M4 6h16M4 12h16M4 18h10" />
      <circle cx="19" cy="18" r="2" />
    </Icon>
  ),
  connections: (
    <Icon>
      <path d="M9 7V3M15 7V3M7 7h10v4a5 5 0 0 1-10 0V7zM12 16v5" />
    </Icon>
  ),
  kafka: (
    <Icon>
      <circle cx="12" cy="5" r="2" />
      <circle cx="12" cy="19" r="2" />
      <circle cx="5" cy="12" r="2" />
      <circle cx="19" cy="12" r="2" />
      <path d="M12 7v10M7 12h10" />
    </Icon>
  ),
  cdc: (
    <Icon>
      <ellipse cx="10" cy="6" rx="6" ry="2.5" />
      <path d="M4 6v10c0 1.4 2.7 2.5 6 2.5M16 6v4" />
      <path d="M15 14h6M18 11l3 3-3 3" />
    </Icon>
  ),
  transforms: (
    <Icon>
      <path d="M8 4c-2 0-3 1-3 3v2c0 1.5-1 3-2 3 1 0 2 1.5 2 3v2c0 2 1 3 3 3M16 4c2 0 3 1 3 3v2c0 1.5 1 3 2 3-1 0-2 1.5-2 3v2c0 2-1 3-3 3" />
      <path d="M10 15l4-6" />
    </Icon>
  ),
  tests: (
    <Icon>
      <path d="M9 3h6M10 3v6l-5 9a2 2 0 0 0 1.8 3h10.4a2 2 0 0 0 1.8-3l-5-9V3" />
      <path d="M8 14h8" />
    </Icon>
  ),
  pipelines: (
    <Icon>
      <rect x="3" y="4" width="6" height="5" rx="1" />
      <rect x="15" y="4" width="6" height="5" rx="1" />
      <rect x="9" y="15" width="6" height="5" rx="1" />
      <path d="M6 9v2a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V9M12 13v2" />
    </Icon>
  ),
  sql: (
    <Icon size={16}>
      <ellipse cx="12" cy="6" rx="7" ry="3" />
      <path d="M5 6v12c0 1.7 3.1 3 7 3s7-1.3 7-3V6M5 12c0 1.7 3.1 3 7 3s7-1.3 7-3" />
    </Icon>
  ),
  chart: (
    <Icon size={16}>
      <path d="M4 20V4M4 20h16M8 16l4-5 3 3 5-7" />
    </Icon>
  ),
  stream: (
    <Icon size={16}>
      <path d="M4 7h16M4 12h16M4 17h16" />
    </Icon>
  ),
  home: (
    <Icon size={16}>
      <path d="M4 11l8-7 8 7v9H4z" />
    </Icon>
  ),
  sun: (
    <Icon size={14}>
      <circle cx="12" cy="12" r="4" />
      <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
    </Icon>
  ),
  moon: (
    <Icon size={14}>
      <path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z" />
    </Icon>
  ),
  auto: (
    <Icon size={14}>
      <circle cx="12" cy="12" r="8" />
      <path d="M12 4v16a8 8 0 0 0 0-16z" fill="currentColor" />
    </Icon>
  ),
  panel: (
    <Icon size={14}>
      <rect x="3" y="4" width="18" height="16" rx="2" />
      <path d="M3 14h18" />
    </Icon>
  ),
};
