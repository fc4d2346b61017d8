import diagnosticsChannel from 'node:diagnostics_channel';
import type {IncomingMessage, ServerResponse} from 'node:http';
import {EVENTS_CHANNEL} from '../../shared';

/** Often enough that proxies and load balancers do not take the stream for an idle connection. */
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events: every lock event of this process, as the library publishes it on its
 * diagnostics channel, until the client goes away. Subscribing is what makes the library build
 * events at all (it checks for subscribers), so an unwatched process pays nothing.
 */
export function streamLockEvents(
  req: IncomingMessage,
  res: ServerResponse,
): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  res.write(': connected\n\n');
  const send = (message: unknown) =>
    res.write(`data: ${JSON.stringify(message)}\n\n`);
  diagnosticsChannel.subscribe(EVENTS_CHANNEL, send);
  const heartbeat = setInterval(
    () => res.write(': heartbeat\n\n'),
    HEARTBEAT_MS,
  );
  heartbeat.unref();
  const stop = () => {
    clearInterval(heartbeat);
    diagnosticsChannel.unsubscribe(EVENTS_CHANNEL, send);
  };
  req.once('close', stop);
  res.once('close', stop);
}
