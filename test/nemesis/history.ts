/**
 * The run's history: every worker event and every fault, stamped by one observer (the run's own
 * monotonic clock, ms from the start of the run), whatever the workers' faked clocks say.
 */
export type OpEventType =
  'invoke' | 'granted' | 'claimed' | 'ok' | 'fail' | 'unknown';

export interface OpEvent {
  readonly at: number;
  readonly worker: number;
  readonly incarnation: number;
  readonly t: OpEventType;
  readonly op: string;
  readonly fence?: string;
  readonly reason?: string;
  /** The worker's own (faked) clock when it printed the line. */
  readonly clock?: number;
}

/** A fault as it was applied: `end` is when it was healed. */
export interface FaultRecord {
  readonly id: number;
  readonly kind: string;
  readonly worker?: number;
  readonly start: number;
  end?: number;
  /** What was done (a pause names the worker it hit: the lock holder when there was one). */
  detail: string;
}

/** A worker process's life: `killed` when the nemesis SIGKILLed it (its open operation is then unknown). */
export interface Incarnation {
  readonly worker: number;
  readonly incarnation: number;
  readonly start: number;
  end?: number;
  killed: boolean;
}

export interface History {
  readonly ops: OpEvent[];
  readonly faults: FaultRecord[];
  readonly incarnations: Incarnation[];
}
