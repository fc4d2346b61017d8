import type {ValkeyClient} from './valkey-client';

/**
 * The client the library builds from a URL. Tuned so that failure is fast and retries live in
 * shared/core/attempts.ts alone: no command waits through reconnect attempts
 * (`maxRetriesPerRequest: 0`), and none is re-sent after a reconnect
 * (`autoResendUnfulfilledCommands: false`: a re-sent acquire could land twice unseen).
 */
export async function defaultValkeyClient(
  url: string,
  rpcTimeoutMs: number,
): Promise<ValkeyClient> {
  const {Redis} = await import('iovalkey');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: rpcTimeoutMs,
  });
  // Each call reports its own failure; without a listener iovalkey prints every reconnect error.
  client.on('error', () => undefined);
  return client;
}
