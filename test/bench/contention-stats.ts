import {median, percentile} from './stats';

/** One grant of a contended run, as a worker reports it (ms since the epoch, sub-ms). */
export interface TimedGrant {
  readonly grantedAt: number;
  /** When the holder called release: the end of its work inside the lock. */
  readonly releasedAt: number;
}

export interface ContentionSummary {
  readonly grants: number;
  /** From one holder's release call to the next grant, in grant order. */
  readonly handoffsMs: number[];
  /** From the first grant to the last release call. */
  readonly spanMs: number;
  /** The work done inside the lock, summed over the grants. */
  readonly workMs: number;
  /** workMs / spanMs: the share of the wall time the lock was doing work. */
  readonly utilisation: number;
  readonly workMedianMs: number;
  readonly handoffMedianMs: number;
  readonly handoffP95Ms: number;
}

/**
 * What a contended run's grants say about the lock: the hand-offs between holders and the share of
 * the wall time spent on work inside it. Grants may come in any order (one list per worker). Fewer
 * than two grants have no hand-off: the hand-off figures are NaN, as `percentile` gives.
 */
export function summariseGrants(
  grants: readonly TimedGrant[],
): ContentionSummary {
  const sorted = [...grants].sort((a, b) => a.grantedAt - b.grantedAt);
  const handoffsMs = sorted
    .slice(1)
    .map(
      (grant, index) =>
        grant.grantedAt - (sorted[index] as TimedGrant).releasedAt,
    );
  const works = sorted.map(grant => grant.releasedAt - grant.grantedAt);
  const workMs = works.reduce((sum, work) => sum + work, 0);
  const spanMs =
    sorted.length === 0
      ? Number.NaN
      : Math.max(...sorted.map(grant => grant.releasedAt)) -
        (sorted[0] as TimedGrant).grantedAt;
  return {
    grants: sorted.length,
    handoffsMs,
    spanMs,
    workMs,
    utilisation: workMs / spanMs,
    workMedianMs: median(works),
    handoffMedianMs: median(handoffsMs),
    handoffP95Ms: percentile(handoffsMs, 95),
  };
}

/**
 * The most a lock can be used when each hand-off costs at least `handoffFloorMs` (one uncontended
 * release and acquire on the same store): work / (work + floor).
 */
export function utilisationCeiling(
  workMs: number,
  handoffFloorMs: number,
): number {
  return workMs / (workMs + handoffFloorMs);
}
