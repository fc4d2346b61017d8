import type {Datastore} from '@google-cloud/datastore';
import type {SinonSandbox} from 'sinon';

export const RPC_METHODS = [
  'lookup',
  'beginTransaction',
  'commit',
  'rollback',
  'runQuery',
] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

/**
 * Spies on the generated Datastore client a `Datastore` object holds, so tests count real RPCs
 * as they leave the process. The client exists once the library made its first call.
 */
export function spyOnRpcs(datastore: Datastore, sandbox: SinonSandbox): RpcLog {
  const client = datastore.clients_.get('DatastoreClient') as
    Record<RpcMethod, (...args: unknown[]) => unknown> | undefined;
  if (!client)
    throw new Error(
      'no DatastoreClient yet: make one lock call before counting',
    );
  let log: RpcMethod[] = [];
  for (const method of RPC_METHODS) {
    const original = client[method];
    sandbox.replace(
      client,
      method,
      function (this: unknown, ...args: unknown[]) {
        log.push(method);
        return original.apply(this, args);
      },
    );
  }
  return {
    calls: () => [...log],
    reset: () => {
      log = [];
    },
  };
}

export interface RpcLog {
  /** The RPCs made since the last reset, in order. */
  calls(): RpcMethod[];
  reset(): void;
}
