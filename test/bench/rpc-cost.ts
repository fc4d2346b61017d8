import type {Datastore} from '@google-cloud/datastore';

/**
 * Counts, at the client, what Datastore bills: RPCs, and entity reads (entities a lookup found),
 * writes (insert, update, upsert) and deletes of commits that succeeded, by wrapping the generated
 * client's methods. A failed commit's mutations are counted apart, as refused writes.
 */
export interface Cost {
  rpcs: number;
  reads: number;
  writes: number;
  deletes: number;
  refusedWrites: number;
}

type Method = (
  request: Record<string, unknown>,
  ...rest: unknown[]
) => Promise<unknown[]>;

export function countCosts(datastore: Datastore): {
  cost: Cost;
  restore(): void;
} {
  const client = datastore.clients_.get('DatastoreClient') as
    Record<string, Method> | undefined;
  if (!client) throw new Error('no DatastoreClient yet: make one call first');
  const cost: Cost = {
    rpcs: 0,
    reads: 0,
    writes: 0,
    deletes: 0,
    refusedWrites: 0,
  };
  const originals = new Map<string, Method>();
  for (const name of [
    'lookup',
    'runQuery',
    'beginTransaction',
    'commit',
    'rollback',
  ]) {
    const original = client[name] as Method;
    originals.set(name, original);
    client[name] = function (this: unknown, request, ...rest) {
      cost.rpcs++;
      const mutations =
        name === 'commit'
          ? ((request.mutations as Record<string, unknown>[]) ?? [])
          : [];
      // A commit that failed (an insert that found the entity) changed nothing: not billed.
      const count = (error: unknown, response: unknown) => {
        if (error) {
          cost.refusedWrites += mutations.length;
          return;
        }
        for (const mutation of mutations) {
          if (mutation.delete) cost.deletes++;
          else cost.writes++;
        }
        if (name === 'lookup')
          cost.reads += (
            (response as {found?: unknown[]} | undefined)?.found ?? []
          ).length;
      };
      // The high-level client calls with a callback (the peer does); the library awaits a promise.
      const callback = rest.at(-1);
      if (typeof callback === 'function') {
        rest[rest.length - 1] = (
          error: unknown,
          response: unknown,
          ...more: unknown[]
        ) => {
          count(error, response);
          return (callback as (...args: unknown[]) => unknown)(
            error,
            response,
            ...more,
          );
        };
        return original.call(this, request, ...rest);
      }
      return original.call(this, request, ...rest).then(
        response => {
          count(undefined, response?.[0]);
          return response;
        },
        (error: unknown) => {
          count(error, undefined);
          throw error;
        },
      );
    } as Method;
  }
  return {
    cost,
    restore: () => {
      for (const [name, original] of originals) client[name] = original;
    },
  };
}
