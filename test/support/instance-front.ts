import {
  createServer,
  request,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type {AddressInfo, Socket} from 'node:net';

/**
 * The URL of one function instance as Cloud Run serves it: a push always reaches a live instance.
 * While the instance's process is down (killed, its replacement starting) a push waits here for the
 * replacement, as Cloud Run holds a request for an instance it starts, instead of being refused as a
 * dead port would refuse it. A push the process took and died under is answered 503 (Cloud Run's
 * answer when an instance crashes mid-request): a nack, so Pub/Sub delivers it again.
 */
export interface InstanceFront {
  /** What the push subscriptions post to. */
  readonly baseUrl: string;
  /** The process behind is gone: pushes wait for `up`. */
  down(): void;
  /** A process answers on `port` (of 127.0.0.1): waiting pushes go to it. */
  up(port: number): void;
  /** Stops taking pushes; those waiting are dropped (their connection reset, so never acked). */
  close(): Promise<void>;
}

interface Held {
  readonly incoming: IncomingMessage;
  readonly body: Buffer;
  readonly response: ServerResponse;
}

/** A refused connection while the process is still thought up: its exit is on its way. */
const REFUSED_RETRY_MS = 50;

export async function startInstanceFront(): Promise<InstanceFront> {
  let target: number | undefined;
  let closed = false;
  const waiting: Held[] = [];
  const sockets = new Set<Socket>();

  const forward = (held: Held): void => {
    if (closed) {
      held.response.destroy();
      return;
    }
    if (target === undefined) {
      waiting.push(held);
      return;
    }
    const headers = {...held.incoming.headers};
    delete headers.host;
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: target,
        method: held.incoming.method,
        path: held.incoming.url,
        headers,
        // A fresh connection per push: a kept-alive one could outlive a killed process.
        agent: false,
      },
      reply => {
        held.response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(held.response);
        // Cut off mid-answer: no answer at all, so no ack.
        reply.on('error', () => held.response.destroy());
      },
    );
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (held.response.headersSent || held.response.destroyed)
        held.response.destroy();
      // Never reached the process: no handler ran, so it waits for the live one.
      else if (error.code === 'ECONNREFUSED')
        setTimeout(() => forward(held), REFUSED_RETRY_MS);
      else held.response.writeHead(503).end();
    });
    outgoing.end(held.body);
  };

  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () =>
      forward({incoming, body: Buffer.concat(chunks), response}),
    );
  });
  server.on('connection', socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    down: () => {
      target = undefined;
    },
    up: port => {
      target = port;
      for (const held of waiting.splice(0)) forward(held);
    },
    close: async () => {
      closed = true;
      waiting.splice(0);
      const stopped = new Promise(resolve => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
