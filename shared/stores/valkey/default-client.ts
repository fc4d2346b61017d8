import type {ValkeyConnectionSettings} from '../../validation/valkey-connection';
import type {ValkeyClient} from './valkey-client';

/**
 * The client the library builds from its settings. Tuned so that failure is fast and retries live
 * in shared/core/attempts.ts alone: no command waits through reconnect attempts
 * (`maxRetriesPerRequest: 0`), and none is re-sent after a reconnect
 * (`autoResendUnfulfilledCommands: false`: a re-sent acquire could land twice unseen).
 * With a CA, TLS trusts it alone (Memorystore's per-instance server CA), so a wrong or missing one
 * fails the handshake. With IAM auth, google-auth-library loads now, and only then.
 */
export async function defaultValkeyClient(
  connection: ValkeyConnectionSettings,
  rpcTimeoutMs: number,
  onConnectionError: (error: unknown) => void = () => undefined,
): Promise<ValkeyClient> {
  const {Redis} = await import('iovalkey');
  const iam =
    connection.auth === 'iam'
      ? await import('./iam-password').then(async module => ({
          module,
          tokens: await module.googleAccessTokens(),
        }))
      : undefined;
  const client = new Redis(connection.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: rpcTimeoutMs,
    ...(connection.ca === undefined ? {} : {tls: {ca: connection.ca}}),
  });
  // Each call reports its own failure, which says only "no connection"; why (a TLS or AUTH
  // refusal) is told here. Without a listener iovalkey would print every reconnect error.
  client.on('error', onConnectionError);
  return iam ? iam.module.withIamPassword(client, iam.tokens) : client;
}
