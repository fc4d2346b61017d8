/**
 * The handler workload's checker. Every published event adds 1 to its account, and Pub/Sub
 * redelivers until one delivery succeeds: once the run has settled, each account's balance must be
 * exactly its number of events. Fewer is a lost update (a late instance overwrote a newer balance,
 * or an event was refused as a duplicate of a write that was overwritten); more is an event applied
 * twice. Where the worker's own records say which events it applied, an event never recorded is
 * `undelivered` (Pub/Sub had not brought it back by the end of the run), not lost.
 */
export interface HandlerViolation {
  readonly rule: 'lost' | 'doubled' | 'undelivered';
  readonly account: string;
  readonly message: string;
}

export interface HandlerCheck {
  readonly events: number;
  readonly counted: number;
  readonly violations: HandlerViolation[];
}

/** `unapplied`: per account, the events the worker never recorded as applied (still undelivered). */
export function checkBalances(
  published: ReadonlyMap<string, number>,
  balances: ReadonlyMap<string, number | undefined>,
  unapplied: ReadonlyMap<string, readonly string[]> = new Map(),
): HandlerCheck {
  const violations: HandlerViolation[] = [];
  let events = 0;
  let counted = 0;
  for (const [account, expected] of published) {
    const balance = balances.get(account) ?? 0;
    events += expected;
    counted += balance;
    const never = unapplied.get(account);
    const overwritten = expected - balance - (never?.length ?? 0);
    if (never?.length)
      violations.push({
        rule: 'undelivered',
        account,
        message: `${account}: ${never.length} of ${expected} events never applied by the end of the run (no record of them): ${never.slice(0, 5).join(', ')}`,
      });
    if (overwritten > 0)
      violations.push({
        rule: 'lost',
        account,
        message: `${account}: balance ${balance} after ${expected} events: ${overwritten} applied but not counted (an update overwritten)`,
      });
    else if (overwritten < 0 && !never?.length)
      violations.push({
        rule: 'doubled',
        account,
        message: `${account}: balance ${balance} after ${expected} events: ${-overwritten} applied twice`,
      });
  }
  return {events, counted, violations};
}
