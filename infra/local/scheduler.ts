import {API_TOKEN_HEADER} from '../../functions/http/auth';
import {log} from '../../functions/log';

/**
 * Cloud Scheduler, locally: calls cleanupLocks at the times the deployed job's cron
 * (`*\/N * * * *`, UTC) fires, i.e. at every multiple of N minutes since the epoch. For demos,
 * `everyMs` replaces the schedule by a fixed period. Like the deployed job, it sends the functions'
 * LOCKS_API_TOKEN, when one is set, in `X-Locks-Api-Token`.
 */
export interface LocalScheduler {
  stop(): void;
}

export function scheduleCleanup(
  url: string,
  periodMs: number,
  aligned: boolean,
  apiToken: string | undefined = process.env.LOCKS_API_TOKEN || undefined,
): LocalScheduler {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    ...(apiToken ? {[API_TOKEN_HEADER]: apiToken} : {}),
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    const wait = aligned ? periodMs - (Date.now() % periodMs) : periodMs;
    timer = setTimeout(() => void call().finally(next), wait);
  };
  const call = async () => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: '{}',
        signal: AbortSignal.timeout(60_000),
      });
      log(
        response.ok ? 'INFO' : 'ERROR',
        'local scheduler: cleanupLocks called',
        {status: response.status, answer: await response.text()},
      );
    } catch (error) {
      log('ERROR', 'local scheduler: cleanupLocks call failed', {
        detail: (error as Error).message,
      });
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
