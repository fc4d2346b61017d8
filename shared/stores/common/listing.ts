import type {ListQuery, LockRecord} from '../../core/backend';

/** Locks are read this many at a time while listing. */
export const LISTING_PAGE = 300;

/**
 * What every store's listing keeps of the pages it reads, oldest grant first: identifiers carry
 * no index (stores key locks by a hash of them), so the prefix is matched here; and since pages
 * come in grant order, reading stops at the first lock granted after `acquiredBefore`.
 */
export async function collectListing(
  pages: AsyncIterable<readonly LockRecord[]>,
  query: ListQuery,
): Promise<LockRecord[]> {
  const kept: LockRecord[] = [];
  for await (const page of pages) {
    for (const record of page) {
      if (query.acquiredBefore && record.acquiredAt >= query.acquiredBefore)
        return kept;
      if (
        query.prefix !== undefined &&
        !record.identifier.startsWith(query.prefix)
      )
        continue;
      kept.push(record);
      if (kept.length >= query.limit) return kept;
    }
  }
  return kept;
}
