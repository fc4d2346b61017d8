import {callTimeoutMs, withDeadline} from '../../core/budget';
import type {LuaScript} from './lua-scripts';
import type {ValkeyClient} from './valkey-client';
import {ValkeyTransportError} from './valkey-errors';

/** States in which iovalkey has no connection and is not making its first one. */
const DOWN = new Set(['reconnecting', 'close', 'end']);

/**
 * Every Valkey call WEAK locks make, each under a deadline (the configured one, cut to the caller's
 * budget, see budget.ts), and refused at once while the client has lost its connection: a server
 * that is gone is BACKEND_UNAVAILABLE in milliseconds, not after the client's reconnect attempts.
 * Error replies stay as they are (classified in valkey-errors.ts); anything else is transport.
 */
export class ValkeyCalls {
  constructor(
    readonly client: ValkeyClient,
    private readonly timeoutMs: number,
  ) {}

  /** Runs `script` by SHA-1, sending its source only when the server does not have it. */
  async script(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return this.send(script.name, async () => {
      try {
        return await this.client.call(
          'EVALSHA',
          script.sha,
          keys.length,
          ...keys,
          ...args,
        );
      } catch (error) {
        if (!isReplyError(error) || !/^NOSCRIPT\b/.test(error.message))
          throw error;
        return this.client.call(
          'EVAL',
          script.source,
          keys.length,
          ...keys,
          ...args,
        );
      }
    });
  }

  command(name: string, ...args: (string | number)[]): Promise<unknown> {
    return this.send(name.toLowerCase(), () => this.client.call(name, ...args));
  }

  private send(
    operation: string,
    call: () => Promise<unknown>,
  ): Promise<unknown> {
    if (DOWN.has(this.client.status))
      return Promise.reject(
        new ValkeyTransportError(
          operation,
          new Error(`no connection (${this.client.status})`),
          true,
        ),
      );
    const timeoutMs = callTimeoutMs(this.timeoutMs);
    return withDeadline(
      timeoutMs,
      () =>
        call().catch((error: unknown) => {
          throw isReplyError(error)
            ? error
            : new ValkeyTransportError(operation, error, false);
        }),
      () =>
        new ValkeyTransportError(
          operation,
          new Error(`no answer in ${timeoutMs} ms`),
          false,
        ),
    );
  }
}

/** An error the server answered (`-ERR ...`), as iovalkey reports it. */
export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}
