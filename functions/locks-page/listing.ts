import {listLocks, LockKind} from '../../shared';
import {log} from '../log';
import {viewOf, type LockView} from '../http/lock-view';
import {functionSettings} from '../settings';

/** A lock as the page lists it: its view, and which kind it is. */
export type PageLock = LockView & {readonly kind: LockKind};

/**
 * Whether the page's WEAK locks are there: `listed` (Valkey), `memcached` (it cannot enumerate
 * its keys, so they appear in the feed only) or `unavailable` (Valkey did not answer this time).
 */
export type WeakListing = 'listed' | 'memcached' | 'unavailable';

/**
 * STRONG locks, and WEAK ones where their store can list them. A STRONG failure fails the listing
 * (the caller answers 503); a WEAK one only says so, since the STRONG locks are still worth seeing.
 */
export async function listPageLocks(
  now: number,
): Promise<{locks: PageLock[]; weakLocks: WeakListing}> {
  const withValkey = functionSettings().weakStore === 'valkey';
  const [strong, weak] = await Promise.all([
    listLocks(),
    withValkey
      ? listLocks({kind: LockKind.WEAK}).catch((error: unknown) => {
          log('WARNING', 'locksPage: listing WEAK locks failed', {
            function: 'locksPage',
            detail: (error as Error)?.message,
          });
          return undefined;
        })
      : Promise.resolve(undefined),
  ]);
  const locks: PageLock[] = [
    ...strong.map(lock => ({...viewOf(lock, now), kind: LockKind.STRONG})),
    ...(weak ?? []).map(lock => ({...viewOf(lock, now), kind: LockKind.WEAK})),
  ];
  return {
    locks,
    weakLocks: !withValkey ? 'memcached' : weak ? 'listed' : 'unavailable',
  };
}
