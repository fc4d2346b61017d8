import type {IncomingMessage, Server} from 'node:http';

/**
 * How long the server keeps an idle keep-alive connection open, instead of Node's 5 s. A client
 * closes its idle connections on its own timer (Node's agent after 5 s, or one second before the
 * server's advertised `Keep-Alive: timeout`); a client whose event loop stalls past that (a busy
 * or starved process) reuses the connection just as the server closes it, and its request is
 * reset, unanswered, whatever it was. With the server waiting this much longer, the client's
 * timer ends the connection first. Above a minute, as load balancers' idle timeouts are.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const raised = new WeakSet<Server>();

/**
 * Raises the idle timeout of the server `req` arrived on, once. The Functions Framework creates its
 * server itself and does not expose it; every request's socket knows it.
 */
export function keepIdleConnectionsLonger(req: IncomingMessage): void {
  const server = (req.socket as {server?: Server}).server;
  if (!server || raised.has(server)) return;
  raised.add(server);
  if (server.keepAliveTimeout < KEEP_ALIVE_TIMEOUT_MS)
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
}
