import { log } from '../../shared/log';

/**
 * Cloud Scheduler, locally: calls cleanupLocks at the times the deployed job's cron
 * (`*\/N * * * *`, UTC) fires, i.e. at every multiple of N minutes since the epoch. For demos,
 * `everyMs` replaces the schedule by a fixed period.
 */
export interface LocalScheduler {
  stop(): void;
}

export function scheduleCleanup(url: string, periodMs: number, aligned: boolean): LocalScheduler {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    const wait = aligned ? periodMs - (Date.now() % periodMs) : periodMs;
    timer = setTimeout(() => void call().finally(next), wait);
  };
  const call = async () => {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(60_000) });
      log(response.ok ? 'INFO' : 'ERROR', 'local scheduler: cleanupLocks called', { status: response.status, answer: await response.text() });
    } catch (error) {
      log('ERROR', 'local scheduler: cleanupLocks call failed', { detail: (error as Error).message });
    }
  };
  next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
