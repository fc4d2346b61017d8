import {connect, createServer, type Socket} from 'node:net';

/**
 * Forwards connections on `port` of 127.0.0.1 to `host` ("address:port"): a store that comes back
 * on the address a client was already using while it was down.
 */
export async function startForwarder(
  port: number,
  host: string,
): Promise<{close(): Promise<void>}> {
  const [address, target] = host.split(':') as [string, string];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer(client => {
    const upstream = connect(Number(target), address);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
