import {AsyncLocalStorage} from 'node:async_hooks';

/**
 * The time budget of one acquire, carried to every store call made on its behalf, however deep,
 * the way a gRPC deadline propagates: an acquire that may wait 2 s never makes a store call that
 * may take 5 s. The stores' RPC layers ask `callTimeoutMs` for each call's deadline.
 *
 * AsyncLocalStorage rather than a parameter on every backend method: the budget is a property of
 * the caller, not of any one operation, and it must reach calls the backends make internally (a
 * steal's lookup and commit, a retry's read-back) without each of them passing it on.
 */
const budgets = new AsyncLocalStorage<number>();

/** Runs `fn` with store calls bounded by `deadline` (ms since the epoch; Infinity for none). */
export function withinBudget<T>(
  deadline: number,
  fn: () => Promise<T>,
): Promise<T> {
  return Number.isFinite(deadline) ? budgets.run(deadline, fn) : fn();
}

/**
 * The grace a budget allows past its end, for two things that must still finish: the last attempt,
 * made at the deadline (a store that answers in milliseconds then still answers, so a lock that is
 * merely held gives `null`, not a deadline error), and clean-up after the budget ran out (ending a
 * transaction, which otherwise stalls every writer of its entities; removing a lock whose write may
 * have landed unseen). So an acquire is overrun by at most twice this, and only when the store is
 * slow or unreachable.
 */
export const BUDGET_GRACE_MS = 1000;

/** Runs clean-up `fn` with what is left of the budget, or BUDGET_GRACE_MS when that is more. */
export function withCleanupGrace<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = budgets.getStore();
  if (deadline === undefined) return fn();
  return budgets.run(Math.max(deadline, Date.now() + BUDGET_GRACE_MS), fn);
}

/** Runs `fn` under no caller's budget: work that outlives the call it was made for. */
export function outsideBudget<T>(fn: () => Promise<T>): Promise<T> {
  return budgets.exit(fn);
}

/** Milliseconds left of the current budget; Infinity when there is none. */
export function budgetLeftMs(now: number = Date.now()): number {
  const deadline = budgets.getStore();
  return deadline === undefined ? Infinity : deadline - now;
}

/** The deadline for one store call: the configured one, cut to what is left of the budget (at least 1 ms). */
export function callTimeoutMs(configuredMs: number): number {
  return Math.max(1, Math.min(configuredMs, Math.ceil(budgetLeftMs())));
}

/**
 * What `call` resolves, or a rejection with `onTimeout()` once `timeoutMs` pass without an answer:
 * the one bound every store call runs under, whatever its client does with timeouts of its own.
 */
export function withDeadline<T>(
  timeoutMs: number,
  call: () => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    const settle = () => clearTimeout(timer);
    let answer: Promise<T>;
    try {
      answer = call();
    } catch (error) {
      settle();
      reject(error);
      return;
    }
    answer.then(
      value => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
