import type {AcquireRequest, LockRecord} from '../../core/backend';
import {expiryOf} from '../../core/taking-rules';

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
