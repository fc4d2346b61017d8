import type {AcquireRequest, LockRecord} from '../../core/backend';
import {expiryOf} from '../../core/taking-rules';
import type {WaitingRoomState} from '../../waiting-room/types';

/** What a grant writes, the same for every store: its last sign of life is now. */
export function grantRecord(request: AcquireRequest): LockRecord {
  const acquiredAt = new Date();
  const expiresAt = expiryOf(acquiredAt, request);
  return {
    identifier: request.identifier,
    token: request.token,
    acquiredAt,
    leaseMs: request.leaseMs,
    stealAfterMs: request.stealAfterMs,
    expiresAt,
  };
}

/**
 * What a renewal writes: the same grant (token, fence, acquiredAt), renewed now, with a new lease
 * when one is asked for. The store's mark of the old write (`revision`) does not carry over.
 */
export function renewedRecord(
  current: LockRecord,
  leaseMs: number | undefined,
): LockRecord {
  const renewedAt = new Date();
  const {revision: _revision, expiresAt: _expiresAt, ...grant} = current;
  const renewed = {
    ...grant,
    renewedAt,
    ...(leaseMs === undefined ? {} : {leaseMs}),
  };
  const expiresAt = expiryOf(renewedAt, renewed);
  return {...renewed, ...(expiresAt ? {expiresAt} : {})};
}

/**
 * A grant through lockedHandler's waiting room (a hand-off to the head, a claim, or both in one
 * commit when draining), the same for every store: a lease from now, no steal time, and no `fence`
 * (the store gives the grant its fence, as for any new grant), with the room as it stands.
 */
export function roomGrantRecord(
  identifier: string,
  grant: {readonly token: string; readonly leaseMs: number},
  waiting: WaitingRoomState,
): LockRecord {
  const {stealAfterMs: _none, ...fields} = grantRecord({
    identifier,
    token: grant.token,
    leaseMs: grant.leaseMs,
  });
  return {...fields, waiting};
}
