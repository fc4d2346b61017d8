import {Redis} from 'iovalkey';
import {Client as MemjsClient} from 'memjs';
import type {ValkeyClient, ValkeySubscriber} from '../../shared/stores/valkey';

/**
 * The WEAK stores' clients as the bench uses them, each with a count of the requests it sends: a
 * request is a round trip here (neither the library nor these clients pipeline WEAK lock calls),
 * so round trips per operation are counted, not read off the code.
 */

/** A client of a Valkey-protocol server, tuned as the library's own (see default-client.ts). */
export function valkeyRedis(host: string): Redis {
  return new Redis(`redis://${host}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  }).on('error', () => undefined);
}

export function memcacheClient(host: string): MemjsClient {
  return MemjsClient.create(host, {logger: {log: () => undefined}});
}

/** What a client sent since the counter was last taken: each request's name, in order. */
export interface RequestLog {
  /** The requests sent since the last take (or since the counter began), and starts afresh. */
  take(): string[];
}

/**
 * A ValkeyClient that logs every command it sends, on its own connection (`call`) and on the
 * subscriber connections it duplicates (SUBSCRIBE, UNSUBSCRIBE).
 */
export function countingValkey(redis: Redis): {
  client: ValkeyClient;
  log: RequestLog;
} {
  let sent: string[] = [];
  const client: ValkeyClient = {
    get status() {
      return redis.status;
    },
    call(command, ...args) {
      sent.push(command.toUpperCase());
      return redis.call(command, ...args);
    },
    duplicate() {
      // Wrapped on the instance itself, so that every other method keeps its own `this`.
      const subscriber = redis.duplicate();
      const subscribe = subscriber.subscribe.bind(subscriber);
      const unsubscribe = subscriber.unsubscribe.bind(subscriber);
      return Object.assign(subscriber, {
        subscribe: (...channels: string[]) => {
          sent.push('SUBSCRIBE');
          return subscribe(...channels);
        },
        unsubscribe: (...channels: string[]) => {
          sent.push('UNSUBSCRIBE');
          return unsubscribe(...channels);
        },
      }) as unknown as ValkeySubscriber;
    },
  };
  return {
    client,
    log: {
      take: () => {
        const taken = sent;
        sent = [];
        return taken;
      },
    },
  };
}

type Perform = (key: string, request: Buffer, ...rest: unknown[]) => unknown;

/** memcached binary protocol opcodes (the request's second byte) the WEAK backend sends. */
const OPCODES: Record<number, string> = {
  0x00: 'get',
  0x01: 'set',
  0x02: 'add',
  0x03: 'replace',
  0x04: 'delete',
  0x1c: 'touch',
};

/**
 * Logs every request memjs sends (its `perform`, one request and one response each) until
 * `restore` is called.
 */
export function countingMemcache(memcache: MemjsClient): RequestLog & {
  restore(): void;
} {
  const client = memcache as unknown as {perform: Perform};
  const original = client.perform;
  let sent: string[] = [];
  client.perform = function (this: unknown, key, request, ...rest) {
    // A request that carries a CAS (bytes 16-23 of the header) is conditional on it.
    const opcode = request.readUInt8(1);
    const name = OPCODES[opcode] ?? `op 0x${opcode.toString(16)}`;
    sent.push(request.readBigUInt64BE(16) !== 0n ? `CAS ${name}` : name);
    return original.call(this, key, request, ...rest);
  };
  return {
    take: () => {
      const taken = sent;
      sent = [];
      return taken;
    },
    restore: () => {
      client.perform = original;
    },
  };
}

/** How many of each request, in order of first appearance. */
export function countRequests(
  requests: readonly string[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of requests) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** Several counts added up. */
export function addCounts(
  counts: readonly Record<string, number>[],
): Record<string, number> {
  const total: Record<string, number> = {};
  for (const count of counts)
    for (const [name, n] of Object.entries(count))
      total[name] = (total[name] ?? 0) + n;
  return total;
}

/** `{EVALSHA: 2, GET: 1}` as `2 EVALSHA, 1 GET`; with `per`, each count divided by it (one decimal). */
export function describeCounts(
  counts: Record<string, number>,
  per = 1,
): string {
  return Object.entries(counts)
    .map(([name, n]) => `${Math.round((n / per) * 10) / 10} ${name}`)
    .join(', ');
}
