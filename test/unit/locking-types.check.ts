/**
 * Compile-time checks of createLocking's types: an instance's locks are typed as the module's (the
 * fence follows the kind). `npm run build` fails when one breaks. Nothing here runs.
 */
import {createLocking, LockKind, type LockOptions} from '../../shared';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
    ? true
    : false;
function assertType<T extends true>(_: T): void {}

export async function lockingTypeChecks(options: LockOptions): Promise<void> {
  const locking = createLocking();
  const strong = await locking.Lock.acquire('id');
  const weak = await locking.acquire('id', {kind: LockKind.WEAK});
  const either = await locking.Lock.acquire('id', options);
  if (!strong || !weak || !either) return;
  assertType<Equal<typeof strong.fence, bigint>>(true);
  assertType<Equal<typeof weak.fence, undefined>>(true);
  assertType<Equal<typeof either.fence, bigint | undefined>>(true);
}
