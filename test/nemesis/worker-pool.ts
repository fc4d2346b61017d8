import type {ChildProcess} from 'node:child_process';
import {existsSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {spawnChild} from '../../infra/spawn-and-wait';
import type {History, OpEvent} from './history';
import type {NemesisNetwork} from './network';

/**
 * The worker processes: each runs as `ip netns exec <its namespace> node worker.js`, with
 * libfaketime preloaded and reading its offset from a file of its own (rewritten for a clock jump;
 * re-read every second). A killed worker is restarted as a new incarnation with the same clock.
 * Each stdout line becomes a history event stamped with the run's clock.
 */
export interface WorkerSettings {
  readonly env: NodeJS.ProcessEnv;
  readonly clockOffsetsMs: readonly number[];
  readonly clockDir: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly incarnation: number;
  readonly exited: Promise<void>;
}

export class WorkerPool {
  private readonly running = new Map<number, Running>();
  private readonly incarnations = new Map<number, number>();
  private readonly stderr = new Map<number, string>();
  private readonly libfaketime = findLibfaketime();
  /** Workers die with the run, however it ends (Ctrl-C included). */
  private readonly lastResort = () => {
    for (const worker of this.running.keys()) this.signal(worker, 'SIGKILL');
  };

  constructor(
    private readonly network: NemesisNetwork,
    private readonly settings: WorkerSettings,
    private readonly history: History,
    private readonly now: () => number,
  ) {
    for (let worker = 0; worker < settings.clockOffsetsMs.length; worker++)
      this.setClock(worker, 0);
    process.once('exit', this.lastResort);
  }

  startAll(): void {
    for (let worker = 0; worker < this.settings.clockOffsetsMs.length; worker++)
      this.start(worker);
  }

  isRunning(worker: number): boolean {
    return this.running.has(worker);
  }

  start(worker: number): void {
    if (this.running.has(worker)) return;
    const incarnation = (this.incarnations.get(worker) ?? -1) + 1;
    this.incarnations.set(worker, incarnation);
    const [command, ...prefix] = this.network.execIn(worker) as [
      string,
      ...string[],
    ];
    let pending = '';
    const spawned = spawnChild(
      command,
      [...prefix, process.execPath, join(__dirname, 'worker.js')],
      {
        group: true,
        env: {
          ...this.settings.env,
          WORKER: String(worker),
          INCARNATION: String(incarnation),
          LD_PRELOAD: this.libfaketime,
          FAKETIME_TIMESTAMP_FILE: this.clockFile(worker),
          FAKETIME_CACHE_DURATION: '1',
          // Only the wall clock moves: timers (monotonic) keep working, as after an NTP step.
          FAKETIME_DONT_FAKE_MONOTONIC: '1',
        },
        onOutput: (chunk, stream) => {
          if (stream === 'stderr') {
            this.stderr.set(
              worker,
              ((this.stderr.get(worker) ?? '') + chunk).slice(-4000),
            );
            return;
          }
          const at = this.now();
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            try {
              const parsed = JSON.parse(line) as Omit<
                OpEvent,
                'at' | 'worker' | 'incarnation'
              >;
              this.history.ops.push({...parsed, at, worker, incarnation});
            } catch {
              // A stray line from a library.
            }
          }
        },
      },
    );
    const child = spawned.process;
    const life = {
      worker,
      incarnation,
      start: this.now(),
      killed: false,
    } as History['incarnations'][number];
    this.history.incarnations.push(life);
    const exited = spawned.closed.then(() => {
      life.end = this.now();
      if (this.running.get(worker)?.child === child)
        this.running.delete(worker);
    });
    this.running.set(worker, {child, incarnation, exited});
  }

  signal(worker: number, signal: NodeJS.Signals): boolean {
    const running = this.running.get(worker);
    if (!running?.child.pid) return false;
    try {
      process.kill(-running.child.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL; its open operation, if any, is then of unknown outcome. */
  async kill(worker: number): Promise<boolean> {
    const running = this.running.get(worker);
    if (!running) return false;
    const life = this.history.incarnations.find(
      candidate =>
        candidate.worker === worker &&
        candidate.incarnation === running.incarnation,
    );
    if (life) life.killed = true;
    this.signal(worker, 'SIGKILL');
    await running.exited;
    return true;
  }

  /** The worker's clock: its own offset plus `jumpMs`. */
  setClock(worker: number, jumpMs: number): void {
    const seconds =
      ((this.settings.clockOffsetsMs[worker] ?? 0) + jumpMs) / 1000;
    writeFileSync(
      this.clockFile(worker),
      `${seconds >= 0 ? '+' : ''}${seconds.toFixed(3)}\n`,
    );
  }

  /** Asks every worker to finish its operation and exit; kills what is left after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    const all = [...this.running.entries()];
    for (const [worker] of all) {
      this.signal(worker, 'SIGCONT');
      this.signal(worker, 'SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const [worker] of all) this.signal(worker, 'SIGKILL');
    }, graceMs);
    await Promise.all(all.map(([, running]) => running.exited));
    clearTimeout(timer);
    process.removeListener('exit', this.lastResort);
  }

  stderrOf(worker: number): string {
    return this.stderr.get(worker) ?? '';
  }

  private clockFile(worker: number): string {
    return join(this.settings.clockDir, `clock-${worker}`);
  }
}

function findLibfaketime(): string {
  const candidates = ['x86_64-linux-gnu', 'aarch64-linux-gnu', ''].map(arch =>
    join('/usr/lib', arch, 'faketime/libfaketime.so.1'),
  );
  const found = candidates.find(path => existsSync(path));
  if (!found)
    throw new Error(
      `libfaketime is missing (looked for ${candidates.join(', ')}): run npm run setup (it installs the Debian package faketime)`,
    );
  return found;
}
