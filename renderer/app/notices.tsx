// Notifications in the corner: what happened, what to try, and an action when there is one.
import type { JSX } from 'react';
import { dismissNotice, notices } from './output';
import { useStore } from './store';

export function Notices(): JSX.Element {
  const items = useStore(notices, (state) => state.items);
  return (
    <div className="notices" aria-live="polite">
      {items.map((notice) => (
        <div key={notice.id} className={`notice ${notice.level}`} role={notice.level === 'error' ? 'alert' : 'status'}>
          <div className="notice-text">
            <strong>{notice.title}</strong>
            <span>{notice.message}</span>
            {notice.hint ? <span className="notice-hint">{notice.hint}</span> : null}
          </div>
          <div className="notice-actions">
            {notice.action ? (
              <button
                onClick={() => {
                  notice.action!.run();
                  dismissNotice(notice.id);
                }}
              >
                {notice.action.label}
              </button>
            ) : null}
            <button className="icon-button" aria-label="Dismiss" onClick={() => dismissNotice(notice.id)}>
              ×
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}
