import type {Lock} from '../core/lock';
import type {LockLogger} from '../telemetry/logger';
import type {RuntimeSource} from '../configuration/runtime';
import type {Subject} from '../telemetry/lock-telemetry';
import type {ResolvedLockedHandlerOptions} from './locked-handler-options';
import type {Publisher} from './publisher';

/** One delivery of a Pub/Sub message to a lockedHandler, as its parts need it. */
export interface Delivery<E> {
  readonly event: E;
  readonly message: {
    readonly data?: string;
    readonly attributes?: Record<string, string>;
    readonly messageId?: string;
    readonly orderingKey?: string;
  };
  readonly identifier: string;
  /** What every log line of this delivery carries. */
  readonly context: {
    readonly identifier: string;
    readonly messageId: string | undefined;
    readonly attempt: number;
  };
  readonly subject: Subject & {identifier: string};
  readonly settings: ResolvedLockedHandlerOptions;
  readonly publisher: Publisher;
  readonly logger: LockLogger;
  readonly runtimeOf: RuntimeSource;
  /** When the invocation began, and when the platform ends it (ms since the epoch). */
  readonly startedAt: number;
  readonly deadline: number;
  readonly handler: (event: E, held: Lock) => unknown;
}
