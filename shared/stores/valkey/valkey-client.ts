/**
 * What WEAK locks need from a Valkey client: an iovalkey (or ioredis 5) `Redis` satisfies it.
 * Declared here, structurally, so the public types do not import iovalkey's: a consumer without
 * Valkey compiles without it.
 */
export interface ValkeyClient {
  /** iovalkey's connection state: `wait` (lazy, not yet connecting), `connecting`, `ready`, `reconnecting`, `end`, ... */
  readonly status: string;
  /** Sends one command; resolves its reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A second connection with the same options, for SUBSCRIBE (a subscribed connection sends nothing else). */
  duplicate(): ValkeySubscriber;
}

/** The parts of a subscribed connection the push hand-off uses. */
export interface ValkeySubscriber {
  readonly status: string;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(
    event: 'message',
    listener: (channel: string, message: string) => void,
  ): unknown;
  on(
    event: 'error' | 'close' | 'end' | 'ready',
    listener: (error?: unknown) => void,
  ): unknown;
  disconnect(): void;
}
