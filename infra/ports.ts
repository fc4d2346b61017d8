import {readFileSync} from 'node:fs';
import {createServer} from 'node:net';

/**
 * Where freePort looks: below the kernel's ephemeral range (Linux: 32768–60999 by default). A port
 * handed out by `listen(0)` comes from that range, so until the service that was meant to take it
 * binds it (seconds, for a JVM), any outgoing connection on the machine may be given it as its
 * source port, and the service then fails to bind (the Pub/Sub emulator does not even exit: it
 * prints a BindException and hangs). Below the range only another listener can take it.
 */
const LOWEST_PICKED_PORT = 16_384;
const TRIES = 50;

export async function freePort(): Promise<number> {
  const ephemeralStart = ephemeralRangeStart();
  if (ephemeralStart !== undefined && ephemeralStart > LOWEST_PICKED_PORT) {
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const port =
        LOWEST_PICKED_PORT +
        Math.floor(Math.random() * (ephemeralStart - LOWEST_PICKED_PORT));
      if (await listensOn(port)) return port;
    }
  }
  return anyFreePort();
}

/** The first port of the kernel's ephemeral range, or undefined where it cannot be read (not Linux). */
export function ephemeralRangeStart(
  read: () => string = () =>
    readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): number | undefined {
  try {
    const first = Number(read().trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : undefined;
  } catch {
    return undefined;
  }
}

/** A port the kernel picks (in its ephemeral range): the fallback where that range is unknown. */
function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Whether a listener could bind 127.0.0.1:port just now (it is closed again before this resolves). */
function listensOn(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A taken port is a clear error at once, not a service that never becomes ready. */
export async function assertPortFree(
  port: number,
  what: string,
): Promise<void> {
  if (!(await listensOn(port)))
    throw new Error(`port ${port} for ${what} is already in use`);
}

/**
 * What says a port was taken: assertPortFree's refusal, and what the emulators print for a taken
 * port before they hang instead of exiting.
 */
export const PORT_TAKEN = /BindException|already in use/;

/**
 * Runs `start` on freshly picked ports, and again (up to `attempts` in all) when it failed because
 * one was taken between the pick and the bind; any other failure is thrown at once.
 */
export async function onFreePorts<T>(
  start: () => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !PORT_TAKEN.test(String(error))) throw error;
    }
  }
}
