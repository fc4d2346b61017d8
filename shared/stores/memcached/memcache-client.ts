/**
 * What WEAK locks need from a memcached client: a memjs 1.x `Client` (memjs.Client.create())
 * satisfies it. Declared here, structurally, so the public types do not import memjs's: its types
 * live in @types/memjs, which a consumer need not install.
 */
export interface MemcacheClient {
  /** The opaque of the next request; `incrSeq()` advances it. */
  readonly seq: number;
  incrSeq(): void;
  /** Sends one binary-protocol request to the server that owns `key`; the callback gets its response. */
  perform(
    key: string,
    request: Buffer,
    seq: number,
    callback: (error: Error | null, response?: MemcacheResponse) => void,
    retries?: number,
  ): void;
}

/** The parts of a binary-protocol response WEAK locks read. */
export interface MemcacheResponse {
  readonly header: {readonly status: number; readonly cas: Buffer};
  readonly val: Buffer;
}
