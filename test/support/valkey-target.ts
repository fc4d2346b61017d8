import {Redis} from 'iovalkey';
import {closeAtEnd} from './closed-at-end';
import {VALKEY_HOST_VARIABLE} from './global-setup';

/** The test run's Valkey-protocol server, `127.0.0.1:PORT`; read at test time, after the global fixture set it. */
export function valkeyHost(): string {
  const host = process.env[VALKEY_HOST_VARIABLE];
  if (!host)
    throw new Error(
      `${VALKEY_HOST_VARIABLE} is not set: the global test fixture did not start a Valkey server`,
    );
  return host;
}

export function valkeyUrl(host: string = valkeyHost()): string {
  return `redis://${host}`;
}

/**
 * A client for the run's server, tuned as the library's own (see default-client.ts), and
 * disconnected after the last test (test/support/closed-at-end.ts).
 */
export function valkeyClient(host: string = valkeyHost()): Redis {
  const client = new Redis(valkeyUrl(host), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1000,
  }).on('error', () => undefined);
  closeAtEnd({close: () => client.disconnect()});
  return client;
}
