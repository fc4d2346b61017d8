import {LockError} from '../../core/errors';
import type {ValkeyClient, ValkeySubscriber} from './valkey-client';

/** The runtime account's current OAuth access token; the source caches it and renews it before it expires. */
export type AccessTokenSource = () => Promise<string>;

/** The part of an iovalkey `Redis` the IAM password needs: its options, read again at every (re)connect. */
export interface PasswordedClient extends ValkeyClient {
  readonly options: {password?: string | null};
  duplicate(): ValkeySubscriber & {
    readonly options: {password?: string | null};
  };
  on(event: 'ready' | 'reconnecting', listener: () => void): unknown;
  disconnect(): void;
}

/**
 * Memorystore's IAM auth: the password is an access token of the runtime's account, checked by
 * AUTH when a connection opens, and tokens last about an hour. iovalkey reads `options.password`
 * at every (re)connect, so before each command the current token is put there, in every pub/sub
 * connection made from it too. When the token has changed since the command connection
 * authenticated (a renewal, or a reconnect made while the instance idled with an old one), that
 * connection sends AUTH with the new one first: one round trip an hour. google-auth-library owns
 * the expiry (it renews 5 minutes early): nothing here keeps a timer, which a CPU-throttled idle
 * function instance would not run anyway.
 */
export function withIamPassword(
  client: PasswordedClient,
  tokens: AccessTokenSource,
): ValkeyClient & {disconnect(): void} {
  const subscribers = new Set<ReturnType<PasswordedClient['duplicate']>>();
  let authenticated = client.options.password;
  const adopt = async (): Promise<string> => {
    const token = await tokens();
    client.options.password = token;
    for (const subscriber of subscribers) subscriber.options.password = token;
    return token;
  };
  const refresh = async (): Promise<void> => {
    const token = await adopt();
    if (token !== authenticated && client.status === 'ready') {
      await client.call('AUTH', token);
      authenticated = token;
    }
  };
  client.on('ready', () => {
    authenticated = client.options.password;
  });
  // A dropped connection reconnects on a timer (50 ms at first), with no command to refresh the
  // token first: the token is fetched now, so an instance that idled past its token's life does
  // not send the old one (a refused AUTH would fail the calls queued behind it).
  client.on('reconnecting', () => {
    adopt().catch(() => undefined);
  });
  return {
    get status() {
      return client.status;
    },
    async call(command, ...args) {
      await refresh();
      return client.call(command, ...args);
    },
    duplicate() {
      const subscriber = client.duplicate();
      subscribers.add(subscriber);
      subscriber.on('end', () => subscribers.delete(subscriber));
      return subscriber;
    },
    disconnect: () => client.disconnect(),
  };
}

/** The runtime's own identity (on Cloud Run functions, the metadata server), loaded only with IAM auth on. */
export async function googleAccessTokens(): Promise<AccessTokenSource> {
  const {GoogleAuth} = await import('google-auth-library').catch(
    (error: unknown) => {
      throw new LockError(
        'INVALID_ARGUMENT',
        'LOCKS_VALKEY_AUTH=iam needs google-auth-library: npm install google-auth-library',
        {cause: error},
      );
    },
  );
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
  });
  return async () => {
    const {token} = await (await auth.getClient()).getAccessToken();
    if (!token) throw new Error('no access token for Valkey IAM auth');
    return token;
  };
}
