import type {DocumentReference} from '@google-cloud/firestore';
import {LockError} from '../../core/errors';
import {
  checkKindWritable,
  type EntityUpdate,
  type FencedWriteOptions,
  type FencedWriteResult,
} from '../../core/fenced-data';
import {fencedWriteWithRetries} from '../../core/fenced-write';
import type {RuntimeSource} from '../../configuration/runtime';

/** @internal */
export async function fencedUpdateDocumentIn(
  runtimeOf: RuntimeSource,
  ref: DocumentReference,
  fence: bigint | undefined,
  update: EntityUpdate,
  options?: FencedWriteOptions,
): Promise<FencedWriteResult> {
  if (typeof fence !== 'bigint' || fence < 0n)
    throw new LockError(
      'INVALID_ARGUMENT',
      `fencedUpdateDocument needs a STRONG lock's fence (a non-negative bigint; WEAK locks have none), got ${typeof fence === 'bigint' ? String(fence) : typeof fence}`,
    );
  if (
    ref === null ||
    typeof ref !== 'object' ||
    typeof (ref as Partial<DocumentReference>).path !== 'string' ||
    typeof (ref as Partial<DocumentReference>).firestore !== 'object'
  )
    throw new LockError(
      'INVALID_ARGUMENT',
      'fencedUpdateDocument needs a Firestore DocumentReference',
    );
  if (typeof update !== 'function')
    throw new LockError(
      'INVALID_ARGUMENT',
      'fencedUpdateDocument needs an update function',
    );
  ref.path
    .split('/')
    .filter((_, index) => index % 2 === 0)
    .forEach(collection => checkKindWritable(collection));
  const {config} = runtimeOf();
  const [{FirestoreCalls}, {FirestoreFencedWriter}] = await Promise.all([
    import('./firestore-calls'),
    import('./fenced-write'),
  ]);
  const writer = new FirestoreFencedWriter(
    new FirestoreCalls(ref.firestore, config.rpcTimeoutMs),
  );
  return fencedWriteWithRetries(
    config.retry,
    config.onceKeyRetentionMs,
    request => writer.write(ref, request),
    fence,
    update,
    options,
  );
}
