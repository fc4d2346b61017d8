import type {Lock} from '../lock';
import type {LockLogger} from '../logger';
import type {RuntimeSource} from '../runtime';
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
  /** When the platform ends this invocation (ms since the epoch). */
  readonly deadline: number;
  readonly handler: (event: E, held: Lock) => unknown;
}
