import {median, percentile, round} from './stats';

/**
 * Where a contended message's time goes, read from the instances' JSON log lines (lockedHandler
 * logs each step with its own clock readings; the instances share the machine's clock) and from
 * the dispatcher's push arrivals. Per hand-off, from the releasing holder's 'handed the lock on'
 * (its `handedAtMs`: the handler has just ended) to the next message's 'running' (`startedAtMs`):
 *
 * - store: the hand-off's own transaction, contention retries included (`handOffMs`);
 * - publish: the awaited publish of the wake-up (`publishMs`; none when drained in place);
 * - push: from the publish's answer to the push reaching the dispatcher (the emulator's leg);
 * - queue: from the push's arrival to the woken invocation beginning (dispatcher queue, HTTP, the
 *   Functions Framework);
 * - claim: the woken invocation's claim transaction (`claimMs`; none when drained in place);
 * - other: what is left (logging, the event loop on a busy machine).
 */
export interface HandOffBreakdown {
  readonly handOffs: number;
  /** Of which run by the releasing invocation (no publish, no push, no claim). */
  readonly drained: number;
  readonly totalP50Ms: number;
  readonly totalP95Ms: number;
  /** Medians and p95 of each part over the hand-offs where it applies, `[p50, p95]`. */
  readonly storeMs: readonly [number, number];
  readonly publishMs: readonly [number, number];
  readonly pushMs: readonly [number, number];
  readonly queueMs: readonly [number, number];
  readonly claimMs: readonly [number, number];
  readonly otherMs: readonly [number, number];
  /** The handler's own time (the work and its fenced write), release to release. */
  readonly handlerMs: readonly [number, number];
  /** Each arrival's park: its store call, contention retries included. */
  readonly parks: number;
  readonly parkMs: readonly [number, number];
  /** Waiting-room store tries (park, hand-off, claim; each one transaction) per contended message. */
  readonly storeTriesPerContended: number;
  /** Wake-ups published per contended message. */
  readonly publishesPerContended: number;
  /** From the burst's first publish to the first handler starting. */
  readonly firstRunMs: number;
}

interface Step {
  handedAt?: number | undefined;
  handOffMs?: number | undefined;
  handOffTries?: number | undefined;
  drained?: boolean | undefined;
  handlerMs?: number | undefined;
  publishedAt?: number | undefined;
  publishMs?: number | undefined;
  pushArrivedAt?: number | undefined;
  receivedAt?: number | undefined;
  claimMs?: number | undefined;
  claimTries?: number | undefined;
  startedAt?: number | undefined;
}

interface Entry {
  message?: string;
  identifier?: string;
  seq?: unknown;
  outcome?: string;
  [field: string]: unknown;
}

const numberOr = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

interface Handed {
  readonly at: number;
  readonly handOffMs: number | undefined;
  readonly tries: number | undefined;
  readonly drained: boolean;
  readonly handlerMs: number | undefined;
}
interface Published {
  readonly at: number;
  readonly publishMs: number | undefined;
}
interface Woken {
  readonly startedAt: number;
  readonly receivedAt: number | undefined;
  readonly claimMs: number | undefined;
  readonly claimTries: number | undefined;
}

/**
 * Collects one burst's log lines and pushes; `summary(publishedAtMs)` reads them. A lock's seqs
 * start again at 0 whenever its room empties, so the steps of one hand-off are paired by key
 * (`identifier#seq`) and by time: each hand-off with the first publish, push and woken start of
 * its key that follow it.
 */
export class BreakdownCollector {
  private readonly handed = new Map<string, Handed[]>();
  private readonly published = new Map<string, Published[]>();
  private readonly pushes = new Map<string, number[]>();
  private readonly woken = new Map<string, Woken[]>();
  private readonly parks: {ms: number; tries: number}[] = [];
  private readonly runs: number[] = [];

  private static add<T>(map: Map<string, T[]>, entry: Entry, value: T): void {
    const key = `${entry.identifier ?? ''}#${String(entry.seq)}`;
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  }

  /** One instance's stdout line. */
  line(line: string): void {
    if (!line.includes('lockedHandler: ')) return;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      return;
    }
    switch (entry.message) {
      case 'lockedHandler: handed the lock on': {
        const at = numberOr(entry.handedAtMs);
        if (at === undefined) break;
        BreakdownCollector.add(this.handed, entry, {
          at,
          handOffMs: numberOr(entry.handOffMs),
          tries: numberOr(entry.handOffTries),
          drained: entry.drained === true,
          handlerMs: numberOr(entry.handlerMs),
        });
        break;
      }
      case "lockedHandler: published a parked message's wake-up": {
        const at = numberOr(entry.publishedAtMs);
        if (at === undefined) break;
        BreakdownCollector.add(this.published, entry, {
          at,
          publishMs: numberOr(entry.publishMs),
        });
        break;
      }
      case 'lockedHandler: parked': {
        const ms = numberOr(entry.parkMs);
        if (ms !== undefined)
          this.parks.push({ms, tries: numberOr(entry.parkTries) ?? 1});
        break;
      }
      case 'lockedHandler: running': {
        const startedAt = numberOr(entry.startedAtMs);
        if (startedAt === undefined) break;
        this.runs.push(startedAt);
        if (entry.outcome !== 'woken') break;
        BreakdownCollector.add(this.woken, entry, {
          startedAt,
          receivedAt: numberOr(entry.receivedAtMs),
          claimMs: numberOr(entry.claimMs),
          claimTries: numberOr(entry.claimTries),
        });
        break;
      }
    }
  }

  /** A wake-up's push reaching the dispatcher. */
  push(identifier: string, seq: string, arrivedAtMs: number): void {
    BreakdownCollector.add(this.pushes, {identifier, seq}, arrivedAtMs);
  }

  /** Each hand-off with the steps of its key that follow it (see the class). */
  private steps(): Step[] {
    const steps: Step[] = [];
    for (const [key, handedList] of this.handed) {
      const byTime = <T>(list: T[] | undefined, at: (t: T) => number) =>
        [...(list ?? [])].sort((a, b) => at(a) - at(b));
      const handed = byTime(handedList, h => h.at);
      const published = byTime(this.published.get(key), p => p.at);
      const pushes = byTime(this.pushes.get(key), p => p);
      const woken = byTime(this.woken.get(key), w => w.startedAt);
      handed.forEach((h, i) => {
        const until = handed[i + 1]?.at ?? Infinity;
        const within = (t: number) => t >= h.at && t < until;
        const w = woken.find(one => within(one.startedAt));
        const p = published.find(one => within(one.at));
        const arrived = pushes.find(within);
        steps.push({
          handedAt: h.at,
          handOffMs: h.handOffMs,
          handOffTries: h.tries,
          drained: h.drained,
          handlerMs: h.handlerMs,
          publishedAt: p?.at,
          publishMs: p?.publishMs,
          pushArrivedAt: arrived,
          receivedAt: w?.receivedAt,
          claimMs: w?.claimMs,
          claimTries: w?.claimTries,
          startedAt: w?.startedAt,
        });
      });
    }
    return steps;
  }

  /** `publishedAtMs`: the burst's first publish (Date.now()). Contended: the messages that parked. */
  summary(publishedAtMs: number): HandOffBreakdown {
    const contended = this.parks.length;
    const steps = this.steps();
    const paired = steps.filter(
      step => step.handedAt !== undefined && step.startedAt !== undefined,
    );
    const total = (step: Step) =>
      (step.startedAt as number) - (step.handedAt as number);
    const parts = paired.map(step => {
      const publishEnd =
        step.publishedAt !== undefined
          ? step.publishedAt + (step.publishMs ?? 0)
          : undefined;
      const push =
        publishEnd !== undefined && step.pushArrivedAt !== undefined
          ? step.pushArrivedAt - publishEnd
          : undefined;
      const queue =
        step.pushArrivedAt !== undefined && step.receivedAt !== undefined
          ? step.receivedAt - step.pushArrivedAt
          : undefined;
      const known =
        (step.handOffMs ?? 0) +
        (step.publishMs ?? 0) +
        (push ?? 0) +
        (queue ?? 0) +
        (step.claimMs ?? 0);
      return {
        store: step.handOffMs,
        publish: step.publishMs,
        push,
        queue,
        claim: step.claimMs,
        other: total(step) - known,
      };
    });
    const pair = (values: (number | undefined)[]): [number, number] => {
      const present = values.filter((v): v is number => v !== undefined);
      return [round(median(present), 0), round(percentile(present, 95), 0)];
    };
    const tries =
      this.parks.reduce((sum, park) => sum + park.tries, 0) +
      steps.reduce(
        (sum, step) => sum + (step.handOffTries ?? 0) + (step.claimTries ?? 0),
        0,
      );
    const publishes = steps.filter(
      step => step.publishedAt !== undefined,
    ).length;
    const totals = paired.map(total);
    return {
      handOffs: paired.length,
      drained: paired.filter(step => step.drained).length,
      totalP50Ms: round(median(totals), 0),
      totalP95Ms: round(percentile(totals, 95), 0),
      storeMs: pair(parts.map(part => part.store)),
      publishMs: pair(parts.map(part => part.publish)),
      pushMs: pair(parts.map(part => part.push)),
      queueMs: pair(parts.map(part => part.queue)),
      claimMs: pair(parts.map(part => part.claim)),
      otherMs: pair(parts.map(part => part.other)),
      handlerMs: pair(steps.map(step => step.handlerMs)),
      parks: this.parks.length,
      parkMs: pair(this.parks.map(park => park.ms)),
      storeTriesPerContended: contended > 0 ? round(tries / contended, 2) : 0,
      publishesPerContended:
        contended > 0 ? round(publishes / contended, 2) : 0,
      firstRunMs:
        this.runs.length > 0
          ? round(Math.min(...this.runs) - publishedAtMs, 0)
          : Number.NaN,
    };
  }
}
