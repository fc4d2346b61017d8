import {connect, createServer, type Socket} from 'node:net';

/**
 * A TCP proxy in front of a store that can stall, as a store whose process is stopped (SIGSTOP)
 * does: while stalled, bytes either way are held, not lost, and delivered in order on `resume()`,
 * as the kernel's socket buffers deliver them to a process that continues. A client that closes
 * its connection meanwhile has its close delivered after its bytes. Stalls only this proxy's
 * connections, so other tests' traffic to the same store goes on.
 */
export interface StallingProxy {
  /** "127.0.0.1:PORT", to point a client at. */
  readonly host: string;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallingProxy(
  target: string,
): Promise<StallingProxy> {
  const [address, port] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  let held: (() => void)[] | undefined;
  const deliver = (step: () => void) => (held ? held.push(step) : step());
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const relay = (from: Socket, to: Socket) => {
    from.on('data', chunk => deliver(() => to.write(chunk)));
    from.on('close', () => deliver(() => to.end()));
  };
  const server = createServer(client => {
    const upstream = connect(Number(port), address);
    track(client);
    track(upstream);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const {port: own} = server.address() as {port: number};
  return {
    host: `127.0.0.1:${own}`,
    stall: () => {
      held ??= [];
    },
    resume: () => {
      const steps = held ?? [];
      held = undefined;
      for (const step of steps) step();
    },
    close: () =>
      new Promise<void>(resolve => {
        held = undefined;
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
