/**
 * The handler workload's checker. Every published event adds 1 to its account, and Pub/Sub
 * redelivers until one delivery succeeds: once the run has settled, each account's balance must be
 * exactly its number of events. Fewer is a lost update (a late instance overwrote a newer balance,
 * or an event was refused as a duplicate of a write that was overwritten); more is an event applied
 * twice.
 */
export interface HandlerViolation {
  readonly rule: 'lost' | 'doubled';
  readonly account: string;
  readonly message: string;
}

export interface HandlerCheck {
  readonly events: number;
  readonly counted: number;
  readonly violations: HandlerViolation[];
}

export function checkBalances(
  published: ReadonlyMap<string, number>,
  balances: ReadonlyMap<string, number | undefined>,
): HandlerCheck {
  const violations: HandlerViolation[] = [];
  let events = 0;
  let counted = 0;
  for (const [account, expected] of published) {
    const balance = balances.get(account) ?? 0;
    events += expected;
    counted += balance;
    if (balance < expected)
      violations.push({
        rule: 'lost',
        account,
        message: `${account}: balance ${balance} after ${expected} events: ${expected - balance} lost`,
      });
    else if (balance > expected)
      violations.push({
        rule: 'doubled',
        account,
        message: `${account}: balance ${balance} after ${expected} events: ${balance - expected} applied twice`,
      });
  }
  return {events, counted, violations};
}
