import type {ListQuery, LockRecord} from '../../core/backend';
import {collectListing, LISTING_PAGE} from '../common/listing';
import {classifyDatastoreError} from './datastore-errors';
import type {DatastoreRpc, KeyProto} from './datastore-rpc';
import {decodeLock} from './lock-entity';

/** The STRONG locks held now in one partition and kind, oldest grant first (see listing.ts). */
export function listDatastoreLocks(
  rpc: DatastoreRpc,
  partition: Promise<NonNullable<KeyProto['partitionId']>>,
  entityKind: string,
  query: ListQuery,
): Promise<LockRecord[]> {
  return collectListing(pages(rpc, partition, entityKind), query);
}

async function* pages(
  rpc: DatastoreRpc,
  partition: Promise<NonNullable<KeyProto['partitionId']>>,
  entityKind: string,
): AsyncIterable<LockRecord[]> {
  const partitionId = await partition;
  let cursor: Uint8Array | string | undefined;
  for (;;) {
    let page;
    try {
      page = await rpc.entitiesByProperty(
        partitionId,
        entityKind,
        'acquiredAt',
        LISTING_PAGE,
        cursor,
      );
    } catch (error) {
      throw classifyDatastoreError(error, {write: false, what: 'list (query)'});
    }
    yield page.found.map(decodeLock).filter(record => record.token !== '');
    // The legacy emulator reports MORE_RESULTS_AFTER_LIMIT even on an empty last page.
    if (!page.more || !page.endCursor || page.found.length === 0) return;
    cursor = page.endCursor;
  }
}
