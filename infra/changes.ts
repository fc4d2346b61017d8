/**
 * What an idempotent step did, or with --dry-run would do. Every call that changes something is
 * reported, so a dry run prints exactly the calls a real run makes, and a second real run reports
 * nothing but `unchanged`.
 */
export type ChangeAction = 'create' | 'update' | 'unchanged' | 'run';

export interface Change {
  readonly action: ChangeAction;
  /** What it is about: `topic projects/p/topics/t`, `gcloud functions deploy acquireLock`, ... */
  readonly resource: string;
  /** The call that was (or would be) made, printable. Empty for `unchanged`. */
  readonly call: string;
}

export interface ApplyMode {
  readonly dryRun: boolean;
  /** Told about each change as it happens (the deploy command prints them). */
  readonly report?: (change: Change) => void;
}

export function describeChange(change: Change, dryRun: boolean): string {
  if (change.action === 'unchanged') return `unchanged  ${change.resource}`;
  return `${dryRun ? 'would ' : ''}${change.action.padEnd(dryRun ? 6 : 9)} ${change.resource}\n    ${change.call}`;
}
