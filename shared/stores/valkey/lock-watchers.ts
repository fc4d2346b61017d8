import type {LockWatch} from '../../core/backend';
import {lockKeys, type LockKeys} from './lock-keys';
import {decodeStoredLock} from './lock-value';
import {STATE} from './lua-scripts';
import type {ValkeyCalls} from './valkey-calls';
import type {ValkeySubscriber} from './valkey-client';

/**
 * Push hand-off: waiters SUBSCRIBE to their lock's channel, on one subscriber connection per
 * backend (a subscribed connection sends nothing else), opened by the first watch and closed when
 * the last one stops; a release PUBLISHes on the channel in the same script that deletes the lock.
 *
 * A watcher is told when the lock may have become takeable for it: a release was published, its
 * lease ran out, or (a lock without a lease) it has been held longer than the watcher's
 * `stealAfterMs`. Time passing publishes nothing, so timers stand in for the last two, set from a
 * look at the lock (the STATE script: its value and the server's time) taken once the channel is
 * subscribed and again after every message. That look also closes the gap between the waiter's
 * failed attempt and its subscription: a release published before the subscription was in place is
 * seen as an absent lock, and the watcher is told at once. Subscribing before the first attempt
 * instead would cost every acquire, contended or not, a SUBSCRIBE (and, the connection being closed
 * when idle, a connection: with TLS and AUTH on Memorystore, a handshake) to save a release in that
 * gap one round trip (loopback: the watch is healthy 1.6 ms p50, 9.7 ms p95 after the failed attempt,
 * its connection opened afresh).
 *
 * The watch only hastens a poll; it never grants anything. It is healthy once the channel is
 * subscribed and the first look has come back, so waiters may then poll only when told (and at a
 * slow safety interval, see waiting.ts). When the connection breaks, every watcher is told at once
 * (so it polls now), every channel is unhealthy and dropped, and its waiters go back to polling with
 * backoff; the next waiter to arrive subscribes afresh.
 */
export class LockWatchers {
  private readonly channels = new Map<string, Channel>();
  private subscriber: ValkeySubscriber | undefined;

  constructor(
    private readonly calls: ValkeyCalls,
    private readonly keyPrefix: string,
  ) {}

  watch(
    identifier: string,
    onChange: () => void,
    stealAfterMs?: number,
  ): LockWatch {
    const keys = lockKeys(this.keyPrefix, identifier);
    let channel = this.channels.get(keys.channel);
    if (!channel) {
      channel = {keys, watchers: new Set(), healthy: false, broken: false};
      this.channels.set(keys.channel, channel);
      this.subscribe(channel);
    }
    const own = channel;
    const watcher: Watcher = {onChange, stealAfterMs, timer: undefined};
    own.watchers.add(watcher);
    if (own.healthy) void this.look(own);
    return {
      get healthy() {
        return own.healthy;
      },
      stop: () => {
        clearTimeout(watcher.timer);
        if (!own.watchers.delete(watcher) || own.watchers.size > 0) return;
        if (this.channels.get(own.keys.channel) === own) {
          this.channels.delete(own.keys.channel);
          this.subscriber?.unsubscribe(own.keys.channel).catch(() => undefined);
        }
        this.closeWhenIdle();
      },
    };
  }

  private connection(): ValkeySubscriber {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.calls.client.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (name: string) => {
      const channel = this.channels.get(name);
      if (!channel) return;
      tell(channel);
      // After the waiters' own attempts, which this look would otherwise delay on the connection.
      setTimeout(() => void this.look(channel), LOOK_AFTER_MESSAGE_MS).unref();
    });
    // The first sign of trouble ends every watch on this connection: no wake-up is trusted to
    // arrive across a reconnect, so the waiters poll with backoff instead.
    const broken = () => this.breakAll(subscriber);
    subscriber.on('error', broken);
    subscriber.on('close', broken);
    subscriber.on('end', broken);
    return subscriber;
  }

  private subscribe(channel: Channel): void {
    const subscriber = this.connection();
    subscriber.subscribe(channel.keys.channel).then(
      () => this.look(channel),
      () => this.breakAll(subscriber),
    );
  }

  /** Reads the lock and the server's time: tells the watchers now if it is gone, else sets their timers. */
  private async look(channel: Channel): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.calls.script(STATE, [channel.keys.lock], []);
    } catch {
      // The commands connection is in trouble: the waiters' own polls will report it.
      channel.healthy = false;
      tell(channel);
      return;
    }
    if (channel.broken) return;
    channel.healthy = true;
    const [value, serverNow] = reply as [unknown, number];
    const held = decodeStoredLock(value);
    if (!held) {
      tell(channel);
      return;
    }
    const sinceMs = serverNow - held.signedAtMs;
    for (const watcher of channel.watchers) {
      clearTimeout(watcher.timer);
      const limit = held.record.leaseMs ?? watcher.stealAfterMs;
      if (limit === undefined) continue;
      // Past the limit by a millisecond: the server judges "longer than", and this reply left it after its TIME.
      const leftMs = limit - sinceMs + 1;
      if (leftMs <= 0) watcher.onChange();
      else {
        watcher.timer = setTimeout(() => watcher.onChange(), leftMs);
        watcher.timer.unref();
      }
    }
  }

  private breakAll(subscriber: ValkeySubscriber): void {
    if (this.subscriber !== subscriber) return;
    this.subscriber = undefined;
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const channel of channels) {
      channel.healthy = false;
      channel.broken = true;
      tell(channel);
    }
    subscriber.disconnect();
  }

  private closeWhenIdle(): void {
    if (this.channels.size > 0 || !this.subscriber) return;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber.disconnect();
  }
}

/** How long after a release's message the lock is looked at again (for the next holder's lease). */
const LOOK_AFTER_MESSAGE_MS = 20;

interface Channel {
  readonly keys: LockKeys;
  readonly watchers: Set<Watcher>;
  healthy: boolean;
  /** Its connection broke: it stays unhealthy, and later looks change nothing. */
  broken: boolean;
}

interface Watcher {
  readonly onChange: () => void;
  readonly stealAfterMs: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

function tell(channel: Channel): void {
  for (const watcher of [...channel.watchers]) watcher.onChange();
}
