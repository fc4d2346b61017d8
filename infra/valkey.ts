import {existsSync} from 'node:fs';
import {connect} from 'node:net';
import {connect as tlsConnect} from 'node:tls';
import {assertPortFree, freePort} from './ports';
import {startService, type RunningService} from './processes';

/**
 * A Valkey-protocol server: Debian's `valkey-server` where the distribution has one, else its
 * `redis-server` (bookworm has Redis 7.0 only, which speaks the same protocol for every command
 * WEAK locks use). VALKEY_BINARY picks another.
 */
const CANDIDATES = ['/usr/bin/valkey-server', '/usr/bin/redis-server'];

export function valkeyBinary(): string | undefined {
  const chosen = process.env.VALKEY_BINARY;
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  return CANDIDATES.find(path => existsSync(path));
}

export function valkeyInstalled(): boolean {
  return valkeyBinary() !== undefined;
}

export interface ValkeyOptions {
  /** A fixed port, so that a test can restart the server where its clients still point. */
  readonly port?: number;
  /** Further server settings, such as `['--maxmemory-policy', 'volatile-lru']`. */
  readonly extraArgs?: readonly string[];
  /** Keep the data in an append-only file, so a restart with the same `dir` brings it back. */
  readonly persistence?: ValkeyPersistence;
}

/**
 * AOF persistence, as Memorystore for Valkey offers it. `always` writes every change to disk before
 * its reply (a restart loses nothing acknowledged); `everysec` (Memorystore's AOF default) syncs once
 * a second, so a machine failure can lose the last second of grants and hand their fences out again.
 */
export interface ValkeyPersistence {
  readonly dir: string;
  readonly appendfsync: 'always' | 'everysec';
}

function persistenceArgs(persistence: ValkeyPersistence | undefined): string[] {
  if (!persistence) return ['--appendonly', 'no'];
  return [
    '--appendonly',
    'yes',
    '--appendfsync',
    persistence.appendfsync,
    '--dir',
    persistence.dir,
  ];
}

/**
 * Starts a server on 127.0.0.1, by default without persistence (as Memorystore without RDB/AOF: a
 * restart loses every lock and fence), as WEAK locks use it locally and in tests. Never RDB
 * snapshots: they would save at times of their own.
 */
export async function startValkey(
  options: ValkeyOptions = {},
): Promise<RunningService> {
  const binary = valkeyBinary();
  if (!binary) {
    throw new Error(
      `no Valkey-protocol server is installed (${CANDIDATES.join(' or ')}): apt-get install -y redis-server (or valkey-server)`,
    );
  }
  const port = options.port ?? (await freePort());
  await assertPortFree(port, 'valkey');
  return startService({
    name: 'valkey',
    port,
    command: binary,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...persistenceArgs(options.persistence),
      ...(options.extraArgs ?? []),
    ],
    probe: () => answersPing(port),
    readyTimeoutMs: 10_000,
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', data => finish(data.toString().startsWith('+PONG')));
    function finish(ok: boolean) {
      socket.destroy();
      resolve(ok);
    }
  });
}

/** A server's TLS files: its certificate and key, and the CA it trusts for client certificates. */
export interface ValkeyTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/**
 * A server that speaks TLS only (no plain port), as a Memorystore instance with transit encryption
 * does: the server authenticates, clients send no certificate.
 */
export async function startValkeyTls(
  tls: ValkeyTlsFiles,
  options: ValkeyOptions = {},
): Promise<RunningService> {
  const binary = valkeyBinary();
  if (!binary)
    throw new Error(
      `no Valkey-protocol server is installed (${CANDIDATES.join(' or ')}): apt-get install -y redis-server (or valkey-server)`,
    );
  const port = options.port ?? (await freePort());
  await assertPortFree(port, 'valkey');
  return startService({
    name: 'valkey-tls',
    port,
    command: binary,
    args: [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      tls.certFile,
      '--tls-key-file',
      tls.keyFile,
      '--tls-ca-cert-file',
      tls.caFile,
      '--tls-auth-clients',
      'no',
      ...(options.extraArgs ?? []),
    ],
    probe: () => answersTlsPing(port),
    readyTimeoutMs: 10_000,
  });
}

function answersTlsPing(port: number): Promise<boolean> {
  return new Promise(resolve => {
    // Only "is it up": the test's own client checks the certificate.
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('secureConnect', () => socket.write('PING\r\n'));
    socket.once('data', data => finish(data.toString().startsWith('+PONG')));
    function finish(ok: boolean) {
      socket.destroy();
      resolve(ok);
    }
  });
}
