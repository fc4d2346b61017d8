import type {OrderedAccount} from '../support/worker-applied';
import {delay} from './child-process';
import type {RoomRig} from './waiting-room-rig';

/** The events a scenario published on one account: event id -> amount. */
export type Expected = Map<string, number>;

export interface Settled {
  /** From `since` to every expected event applied (or to the deadline). */
  readonly settledMs: number;
  readonly inTime: boolean;
  readonly account: OrderedAccount;
  readonly onceKeys: Set<string>;
}

/**
 * Waits until every expected event is on the account's applied list, or `budgetMs` after `since`;
 * then a quiet spell in which anything delivered twice would land, and a last read.
 */
export async function settle(
  rig: RoomRig,
  account: string,
  expected: Expected,
  since: number,
  budgetMs: number,
): Promise<Settled> {
  const deadline = since + budgetMs;
  const done = (state: OrderedAccount | undefined) =>
    state !== undefined &&
    [...expected.keys()].every(id => state.applied.includes(id));
  let state = await rig.store.ledger.account(account);
  while (!done(state) && Date.now() < deadline) {
    await delay(200);
    state = await rig.store.ledger.account(account);
  }
  const settledMs = Date.now() - since;
  const inTime = done(state);
  await delay(2000);
  state = await rig.store.ledger.account(account);
  return {
    settledMs,
    inTime,
    account: state ?? {balance: 0, applied: []},
    onceKeys: await rig.store.ledger.onceKeys(account, [...expected.keys()]),
  };
}

export interface Verdict {
  readonly lost: readonly string[];
  readonly twice: readonly string[];
  readonly unexpected: readonly string[];
  /** Events on the list without a once-key record, or the reverse. */
  readonly onceKeyMismatch: readonly string[];
  readonly balanceOff: boolean;
  readonly exactlyOnce: boolean;
}

/** Every expected event applied exactly once: once on the list, its once-key recorded, the balance their sum. */
export function verdict(expected: Expected, settled: Settled): Verdict {
  const counts = new Map<string, number>();
  for (const id of settled.account.applied)
    counts.set(id, (counts.get(id) ?? 0) + 1);
  const lost = [...expected.keys()].filter(id => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const unexpected = [...counts.keys()].filter(id => !expected.has(id));
  const onceKeyMismatch = [...expected.keys()].filter(
    id => counts.has(id) !== settled.onceKeys.has(id),
  );
  const sum = [...expected.values()].reduce((a, b) => a + b, 0);
  const balanceOff = settled.account.balance !== sum;
  return {
    lost,
    twice,
    unexpected,
    onceKeyMismatch,
    balanceOff,
    exactlyOnce:
      lost.length === 0 &&
      twice.length === 0 &&
      unexpected.length === 0 &&
      onceKeyMismatch.length === 0 &&
      !balanceOff,
  };
}

/** The report's "lost" column. */
export function lostText(v: Verdict): string {
  return (
    `${v.lost.length} lost, ${v.twice.length} applied twice, ${v.unexpected.length} unexpected, ` +
    `${v.onceKeyMismatch.length} once-key mismatches, balance ${v.balanceOff ? 'OFF' : 'right'}`
  );
}

/** Names what went wrong, for a failed assertion or the report. */
export function verdictDetails(v: Verdict): string[] {
  const some = (ids: readonly string[]) =>
    ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', ...' : '');
  return [
    ...(v.lost.length ? [`lost: ${some(v.lost)}`] : []),
    ...(v.twice.length ? [`applied twice: ${some(v.twice)}`] : []),
    ...(v.unexpected.length ? [`unexpected: ${some(v.unexpected)}`] : []),
    ...(v.onceKeyMismatch.length
      ? [`once-key record disagrees: ${some(v.onceKeyMismatch)}`]
      : []),
  ];
}
