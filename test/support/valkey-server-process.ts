import type {Redis} from 'iovalkey';
import {delay} from './ids';

/**
 * The process id of the server `client` talks to, as the server reports it (INFO server), so a
 * test can stop (SIGSTOP) and continue (SIGCONT) a server it started itself: the stalled server
 * a stopped process or a long pause is, with its sockets open and its input kept in the kernel.
 */
export async function valkeyServerPid(client: Redis): Promise<number> {
  const info = String(await client.call('INFO', 'server'));
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`no process_id in INFO server:\n${info}`);
  return pid;
}

/** Resolves `read()`'s value once `done` accepts it; rejects after `withinMs`. */
export async function valkeyUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  withinMs: number,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still ${JSON.stringify(value)} after ${withinMs} ms`);
    await delay(5);
  }
}
