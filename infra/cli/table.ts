import {LockKind} from '../../shared';
import {formatDuration} from './format-duration';
import type {LockView} from '../../functions/http/lock-view';
import type {ParkedView} from './commands/show';

const MAX_IDENTIFIER_WIDTH = 60;

/** `list` as a table a person reads at a glance. */
export function lockTable(
  locks: readonly LockView[],
  kind: LockKind = LockKind.STRONG,
): string {
  if (locks.length === 0) return `no ${kind} locks held`;
  if (kind === LockKind.WEAK) return weakLockTable(locks);
  const rows = [
    [
      'IDENTIFIER',
      'AGE',
      'LEASE LEFT',
      'FENCE',
      'HOLDER',
      'QUEUE',
      'OLDEST WAIT',
    ],
    ...locks.map(lock => [
      shorten(lock.identifier),
      formatDuration(lock.ageMs),
      leaseLeft(lock),
      lock.fence ?? '-',
      lock.holderId,
      String(lock.queueDepth),
      oldestWait(lock),
    ]),
  ];
  return aligned(rows);
}

/** WEAK locks have no fence to show and no waiting room (a WEAK lockedHandler re-queues). */
function weakLockTable(locks: readonly LockView[]): string {
  return aligned([
    ['IDENTIFIER', 'AGE', 'LEASE LEFT', 'HOLDER'],
    ...locks.map(lock => [
      shorten(lock.identifier),
      formatDuration(lock.ageMs),
      leaseLeft(lock),
      lock.holderId,
    ]),
  ]);
}

/** `show`'s waiting room: the parked messages in the order they will run. */
export function parkedTable(parked: readonly ParkedView[]): string {
  return aligned([
    ['SEQ', 'PARKED AT', 'WAITED', 'MESSAGE ID', 'ORDERING KEY', 'BYTES'],
    ...parked.map(record => [
      String(record.seq),
      record.parkedAt,
      formatDuration(record.waitedMs),
      record.messageId,
      record.orderingKey === '' ? '-' : shorten(record.orderingKey),
      String(record.bytes),
    ]),
  ]);
}

function aligned(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map(row => row[column]!.length)),
  );
  return rows
    .map(row =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `show`: every field, one a line. */
export function lockDetails(lock: LockView): string {
  const lines: [string, string][] = [
    ['identifier', lock.identifier],
    ['holderId', lock.holderId],
    ['acquiredAt', `${lock.acquiredAt} (${formatDuration(lock.ageMs)} ago)`],
    ['renewedAt', lock.renewedAt ?? '-'],
    [
      'lease',
      lock.leaseMs === undefined
        ? 'none'
        : `${formatDuration(lock.leaseMs)}, ${leaseLeft(lock)} left`,
    ],
    ['expiresAt', lock.expiresAt ?? '-'],
    ['fence', lock.fence ?? '- (WEAK locks have none)'],
    ['identifierHash', lock.identifierHash],
    ['queue', queueLine(lock)],
  ];
  return lines.map(([name, value]) => `${name.padEnd(15)}${value}`).join('\n');
}

/** The waiting room in a few words: how many are parked, and how long the oldest has waited. */
function queueLine(lock: LockView): string {
  if (lock.queueDepth === 0) return 'none parked';
  const wait =
    lock.oldestWaitMs === undefined
      ? ''
      : `, oldest waiting ${oldestWait(lock)}`;
  return `${lock.queueDepth} parked${wait}`;
}

function oldestWait(lock: LockView): string {
  return lock.oldestWaitMs === undefined
    ? '-'
    : formatDuration(lock.oldestWaitMs);
}

export function leaseLeft(lock: LockView): string {
  if (lock.leaseLeftMs === undefined) return '-';
  return lock.leaseLeftMs >= 0
    ? formatDuration(lock.leaseLeftMs)
    : `expired ${formatDuration(lock.leaseLeftMs)} ago`;
}

function shorten(identifier: string): string {
  const printable = JSON.stringify(identifier).slice(1, -1);
  return printable.length > MAX_IDENTIFIER_WIDTH
    ? `${printable.slice(0, MAX_IDENTIFIER_WIDTH - 1)}…`
    : printable;
}
