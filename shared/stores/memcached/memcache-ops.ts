import {callTimeoutMs, withDeadline} from '../../core/budget';
import type {MemcacheClient as Client} from './memcache-client';

/**
 * The four memcached operations WEAK locks need, in the binary protocol, over a memjs client's
 * connections. memjs 1.x does not expose CAS, so requests are built here and sent with its
 * low-level `perform`; memjs still does server selection, connection, SASL and socket timeouts.
 *
 * Each call is sent once (memjs' own retry re-sends a write whose first copy may have landed, and
 * an `add` retried that way would find our own lock and report it held). Retries live in
 * shared/core/attempts.ts, which knows a write's outcome may be unknown.
 */
const Opcode = {GET: 0x00, SET: 0x01, ADD: 0x02, DELETE: 0x04} as const;

/** Binary-protocol response statuses (memcached protocol_binary.h). */
export const MemcacheStatus = {
  OK: 0x00,
  KEY_NOT_FOUND: 0x01,
  /** The key exists (on add), or its CAS no longer matches (on set/delete with CAS). */
  KEY_EXISTS: 0x02,
  VALUE_TOO_LARGE: 0x03,
  INVALID_ARGUMENTS: 0x04,
  OUT_OF_MEMORY: 0x82,
  BUSY: 0x85,
  TEMPORARY_FAILURE: 0x86,
} as const;

export interface CasValue {
  readonly value: Buffer;
  /** memcached's 8-byte compare-and-swap token for this exact value. */
  readonly cas: Buffer;
}

/** A response status the operation does not expect; the backend decides what it means. */
export class MemcacheStatusError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
  ) {
    super(
      `memcached ${operation} answered status 0x${status.toString(16).padStart(2, '0')}`,
    );
    this.name = 'MemcacheStatusError';
  }
}

/** The transport failed or did not answer within the deadline: a write's outcome is unknown. */
export class MemcacheTransportError extends Error {
  constructor(operation: string, cause: unknown) {
    super(
      `memcached ${operation} failed: ${(cause as Error)?.message ?? String(cause)}`,
      {cause},
    );
    this.name = 'MemcacheTransportError';
  }
}

interface Response {
  readonly header: {readonly status: number; readonly cas: Buffer};
  readonly val: Buffer;
}

export class MemcacheOps {
  constructor(
    readonly client: Client,
    private readonly timeoutMs: number,
  ) {}

  /** Stores `value` only when `key` is absent: its CAS, or `null` when the key exists. */
  async add(
    key: string,
    value: Buffer,
    expirySeconds: number,
  ): Promise<Buffer | null> {
    const {header} = await this.send(
      'add',
      key,
      Opcode.ADD,
      storageExtras(expirySeconds),
      value,
    );
    const stored = statusOf('add', header.status, {
      [MemcacheStatus.OK]: true,
      [MemcacheStatus.KEY_EXISTS]: false,
    });
    return stored ? Buffer.from(header.cas) : null;
  }

  async gets(key: string): Promise<CasValue | null> {
    const response = await this.send(
      'get',
      key,
      Opcode.GET,
      Buffer.alloc(0),
      Buffer.alloc(0),
    );
    if (response.header.status === MemcacheStatus.KEY_NOT_FOUND) return null;
    statusOf('get', response.header.status, {[MemcacheStatus.OK]: true});
    return {
      value: Buffer.from(response.val),
      cas: Buffer.from(response.header.cas),
    };
  }

  /** Replaces `key` only while its CAS is still `cas`: the new CAS, or why not. */
  async casSet(
    key: string,
    value: Buffer,
    expirySeconds: number,
    cas: Buffer,
  ): Promise<Buffer | 'changed' | 'missing'> {
    const {header} = await this.send(
      'cas',
      key,
      Opcode.SET,
      storageExtras(expirySeconds),
      value,
      cas,
    );
    const outcome = statusOf('cas', header.status, {
      [MemcacheStatus.OK]: 'stored',
      [MemcacheStatus.KEY_EXISTS]: 'changed',
      [MemcacheStatus.KEY_NOT_FOUND]: 'missing',
    } as const);
    return outcome === 'stored' ? Buffer.from(header.cas) : outcome;
  }

  /** Deletes `key` only while its CAS is still `cas`. */
  async casDelete(
    key: string,
    cas: Buffer,
  ): Promise<'deleted' | 'changed' | 'missing'> {
    const {header} = await this.send(
      'delete',
      key,
      Opcode.DELETE,
      Buffer.alloc(0),
      Buffer.alloc(0),
      cas,
    );
    return statusOf('delete', header.status, {
      [MemcacheStatus.OK]: 'deleted',
      [MemcacheStatus.KEY_EXISTS]: 'changed',
      [MemcacheStatus.KEY_NOT_FOUND]: 'missing',
    });
  }

  private send(
    operation: string,
    key: string,
    opcode: number,
    extras: Buffer,
    value: Buffer,
    cas?: Buffer,
  ): Promise<Response> {
    this.client.incrSeq();
    const seq = this.client.seq;
    const request = requestBuffer(opcode, key, extras, value, seq, cas);
    // memjs bounds each try by its socket timeouts; the deadline also covers a callback that never comes.
    const timeoutMs = callTimeoutMs(this.timeoutMs);
    return withDeadline(
      timeoutMs,
      () =>
        new Promise<Response>((resolve, reject) =>
          this.client.perform(
            key,
            request,
            seq,
            (error: Error | null, response?: Response) => {
              if (error || !response)
                reject(
                  new MemcacheTransportError(
                    operation,
                    error ?? new Error('no response'),
                  ),
                );
              else resolve(response);
            },
            1,
          ),
        ),
      () =>
        new MemcacheTransportError(
          operation,
          new Error(`no answer in ${timeoutMs} ms`),
        ),
    );
  }
}

/** A binary-protocol request: the 24-byte header, then extras, key and value. */
function requestBuffer(
  opcode: number,
  key: string,
  extras: Buffer,
  value: Buffer,
  opaque: number,
  cas?: Buffer,
): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const buffer = Buffer.alloc(
    24 + extras.length + keyBytes.length + value.length,
  );
  buffer.writeUInt8(0x80, 0);
  buffer.writeUInt8(opcode, 1);
  buffer.writeUInt16BE(keyBytes.length, 2);
  buffer.writeUInt8(extras.length, 4);
  buffer.writeUInt32BE(extras.length + keyBytes.length + value.length, 8);
  buffer.writeUInt32BE(opaque >>> 0, 12);
  cas?.copy(buffer, 16, 0, 8);
  extras.copy(buffer, 24);
  keyBytes.copy(buffer, 24 + extras.length);
  value.copy(buffer, 24 + extras.length + keyBytes.length);
  return buffer;
}

/** Flags (unused, 0) and expiration, as set and add take them. */
function storageExtras(expirySeconds: number): Buffer {
  const extras = Buffer.alloc(8);
  extras.writeUInt32BE(expirySeconds >>> 0, 4);
  return extras;
}

function statusOf<T>(
  operation: string,
  status: number,
  meanings: Record<number, T>,
): T {
  if (status in meanings) return meanings[status] as T;
  throw new MemcacheStatusError(operation, status);
}
