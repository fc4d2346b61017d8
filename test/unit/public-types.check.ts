/**
 * Compile-time checks of the public types: `npm run build` (and so `npm test`) fails when one
 * breaks. Nothing here runs.
 */
import {Lock, LockKind, type LockOptions} from '../../shared';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
    ? true
    : false;
function assertType<T extends true>(_: T): void {}

export async function publicTypeChecks(options: LockOptions): Promise<void> {
  const strong = await Lock.acquire('id');
  const weak = await Lock.acquire('id', {kind: LockKind.WEAK});
  const either = await Lock.acquire('id', options);
  if (!strong || !weak || !either) return;
  // STRONG is the default kind, and its fence is a bigint.
  assertType<Equal<typeof strong.fence, bigint>>(true);
  assertType<Equal<typeof strong.kind, LockKind.STRONG>>(true);
  // A WEAK lock's type says it has no fence.
  assertType<Equal<typeof weak.fence, undefined>>(true);
  // When the kind is only known at run time, so is whether there is a fence.
  assertType<Equal<typeof either.fence, bigint | undefined>>(true);
}
