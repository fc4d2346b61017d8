import {createServer, type Server, type Socket} from 'node:net';

/**
 * A TCP server that accepts connections and never answers: a store that hangs (a network partition
 * that drops replies, a wedged server). Calls to it end only by their deadlines.
 */
export interface SilentServer {
  readonly host: string;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(socket => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as {port: number};
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
