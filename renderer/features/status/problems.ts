// Problems the engine reports (quarantined files, paused appends, failed captures): the list from
// `listProblems`, then each new one from `onProblem`.
import { useEffect } from 'react';
import type { Problem } from '../../../shared/contract';
import { engine } from '../../client/engine-client';
import { createStore, useStore } from '../../app/store';

export const problems = createStore<{ list: Problem[]; unseen: number }>({ list: [], unseen: 0 });

export function useProblemsFeed(engineReady: boolean): void {
  useEffect(
    () =>
      engine.onProblem((problem) =>
        problems.set((state) => (state.list.some((item) => item.id === problem.id && item.at === problem.at) ? state : { list: [...state.list, problem].slice(-500), unseen: state.unseen + 1 })),
      ),
    [],
  );
  useEffect(() => {
    if (!engineReady) return;
    let cancelled = false;
    engine.listProblems({}).then(
      (list) => {
        if (!cancelled) problems.set((state) => ({ list, unseen: Math.max(state.unseen, 0) }));
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [engineReady]);
}

export function useProblems(): { list: Problem[]; unseen: number } {
  return useStore(problems, (state) => state);
}

export function markProblemsSeen(): void {
  if (problems.get().unseen > 0) problems.set({ unseen: 0 });
}
