/**
 * Resolves once `signal` has aborted, at once if it already has: a listener added after the abort
 * would never fire (a renewal can find the lock gone before the removal's own call returns).
 */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise(resolve =>
    signal.addEventListener('abort', () => resolve(), {once: true}),
  );
}
