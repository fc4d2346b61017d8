import type {LockRecord} from '../core/backend';

/**
 * The waiting room: messages that found their lock held, parked in the lock's own STRONG store
 * (Datastore: child entities of the lock's key, one entity group; Firestore: documents under the
 * lock's document) and handed the lock, oldest first, as each holder releases.
 *
 * The lock record carries the room's bookkeeping (`LockRecord.waiting`), so that every park and
 * every hand-off writes the lock itself: a release that was not told of a park finds the lock's
 * version changed, and no release can miss a message parked before it (no lost wake-up).
 *
 * Sequence numbers are per lock, from 0, never reused while the room is non-empty. Invariants the
 * stores keep:
 * - parked records exist for exactly the seqs in [head, tail);
 * - `running` and `handedTo` are each absent or equal to `head`, never both set;
 * - the lock is never deleted while `tail > head`: a release that is not a hand-off leaves it
 *   vacant (see VACANT_TOKEN) with the room kept.
 */
export interface WaitingRoomState {
  /** The oldest parked message still in the room (dispatched or not). */
  readonly head: number;
  /** The next sequence number to give; `tail - head` messages are in the room. */
  readonly tail: number;
  /** The lock is handed to this parked message, whose wake-up is on its way; not yet claimed. */
  readonly handedTo?: number | undefined;
  /** This parked message runs under the current grant: its holder's release removes it. */
  readonly running?: number | undefined;
  /** When `head` was parked: how long the oldest message has waited. */
  readonly oldestParkedAt?: Date | undefined;
}

/** A message as it is parked: enough to publish it again exactly as it came. */
export interface ParkedMessage {
  /** The message's data, at most MAX_PARKED_BYTES with its attributes (see parkable()). */
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
  /** '' for none. */
  readonly orderingKey: string;
  readonly messageId: string;
  /** Where its wake-up is published: the parking handler's own retry topic. */
  readonly retryTopic: string;
}

export interface ParkedRecord extends ParkedMessage {
  readonly identifier: string;
  readonly seq: number;
  /** Unique per park; the wake-up carries it, so a stale or foreign wake-up is told apart. */
  readonly parkId: string;
  /** The store's commit time where it reports one, else this host's clock. */
  readonly parkedAt: Date;
}

/** The grant a hand-off writes: the lock then belongs to the parked message at `head` until it claims it. */
export interface HandOffGrant {
  /** Unique per hand-off; the same across retries of one operation, so a hand-off that landed unseen is recognised. */
  readonly token: string;
  /** The hand-off's lease: the woken message must claim the lock within it, or a backstop dispatches again. */
  readonly leaseMs: number;
}

export interface ParkRequest {
  readonly identifier: string;
  readonly message: ParkedMessage;
  /** Unique per park; the same across retries of one park. */
  readonly parkId: string;
  /** The room holds at most this many messages (`tail - head`): `full` beyond. */
  readonly maxDepth: number;
  /** Used when the park finds the lock free, or vacant, with messages parked: it hands the lock to the head. */
  readonly handOff: HandOffGrant;
}

export type ParkOutcome =
  /** Parked at `seq`. `dispatch`: this park also handed the lock to the room's head; publish it. */
  | {
      readonly outcome: 'parked';
      readonly seq: number;
      readonly depth: number;
      readonly dispatch?: ParkedRecord | undefined;
    }
  /** Nothing written: the lock is free (absent, or takeable) and nobody is parked. Try to acquire. */
  | {readonly outcome: 'free'}
  /** Nothing written: the room holds `maxDepth` messages already. */
  | {readonly outcome: 'full'; readonly depth: number};

export interface HandOffRequest {
  readonly identifier: string;
  /** The holder's token. */
  readonly token: string;
  /**
   * The holder's last write of the lock (LockRecord.revision) when its record showed an empty
   * room: a store may then release with one conditional delete, which fails if anyone parked since.
   */
  readonly revision?: string | undefined;
  readonly handOff: HandOffGrant;
  /**
   * Parks this message behind the others in the same commit. For an arrival that was granted a
   * lock whose room was not empty (a vacant or lapsed lock taken over): it must not overtake them.
   */
  readonly park?: {readonly message: ParkedMessage; readonly parkId: string};
  /**
   * Drain in place: when a message is parked, grant the lock straight to this new token with the
   * head running under it (what the head's own claim would write), in the hand-off's commit. The
   * releasing invocation then runs the head itself: one commit per message instead of a hand-off
   * and a claim, and no publish. Retried after a commit whose answer was lost, the store recognises
   * it by this token.
   */
  readonly claimNext?: {readonly token: string; readonly leaseMs: number};
  /**
   * The seq the holder expects at the room's head once its own message is out: a store may read
   * that parked record together with the lock. Only a guess: a wrong one costs a read, never a
   * wrong answer (the lock's own record of the room decides).
   */
  readonly headHint?: number | undefined;
}

export type HandOffOutcome =
  /** The lock was not this token's (or was gone): nothing written. */
  | {readonly released: false}
  /**
   * Released: the lock was deleted (empty room), or handed to the head, which `dispatch` is: publish
   * it. The holder's own parked record (`running`) was removed in the same commit. `parkedSeq`: where
   * the request's `park` went.
   */
  | {
      readonly released: true;
      readonly dispatch?: ParkedRecord | undefined;
      readonly parkedSeq?: number | undefined;
      /** With `claimNext`: the lock is now granted to its token, running the head (`parked`). */
      readonly claimed?: ClaimedHead | undefined;
    };

/** A grant whose holder runs the parked message `parked` (`waiting.running` is its seq). */
export interface ClaimedHead {
  readonly record: LockRecord;
  readonly parked: ParkedRecord;
}

export interface ClaimRequest {
  readonly identifier: string;
  readonly seq: number;
  readonly parkId: string;
  /** The claimer's new token (same across retries of one claim). */
  readonly token: string;
  readonly leaseMs: number;
}

export type ClaimOutcome =
  /** The lock was handed to this parked message: it is now granted to `token`, with `running: seq`. */
  | ({readonly claimed: true} & ClaimedHead)
  /**
   * Not claimed. running: another delivery of this wake-up runs it now. parked: the record is still
   * in the room but the lock is not handed to it (a backstop will dispatch it again): drop this copy.
   * gone: no such parked record (it ran, or failed and was removed): treat the message as new.
   */
  | {readonly claimed: false; readonly reason: 'running' | 'parked' | 'gone'};

export interface SweepRequest {
  /** This host's time: which locks to look at (the store's clock judges where it reports one). */
  readonly now: Date;
  /** A fresh hand-off grant per lock dispatched. */
  readonly handOff: () => HandOffGrant;
}

/**
 * The STRONG stores' waiting room, one attempt per call (retries live in the caller, as for every
 * backend call). Every call is one transaction or one conditioned commit on the lock and its room.
 */
export interface WaitingRoomStore {
  /**
   * Parks the message behind the others while the lock is held (or handed off). A lock that is free
   * with an empty room: `free`. A lock that is vacant or takeable (an ended lease, a lapsed hand-off)
   * with messages parked: the park also hands the lock to the head (`dispatch`).
   */
  park(request: ParkRequest): Promise<ParkOutcome>;
  /**
   * The holder's release through the waiting room: removes its own parked record (`running`), then
   * hands the lock to the head with a fresh grant (or, with `claimNext`, grants it to the caller
   * running the head), or deletes the lock when the room is empty. Retried after a commit whose
   * answer was lost, it recognises its own hand-off by its token.
   */
  handOff(request: HandOffRequest): Promise<HandOffOutcome>;
  /** The woken message takes the lock handed to it (see ClaimOutcome). */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /**
   * The backstop: every lock with messages parked that is vacant or takeable (a holder that crashed,
   * a hand-off whose wake-up never came, a release outside lockedHandler) is handed to its head.
   * Resolves the records to publish.
   */
  sweep(request: SweepRequest): Promise<ParkedRecord[]>;
  /** The room's records in order, for operators and tests. */
  parked(identifier: string, limit: number): Promise<ParkedRecord[]>;
}
