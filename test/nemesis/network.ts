import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {run, tryRun} from './shell';

/**
 * The run's network: a bridge in the root namespace holding the store's address, and one network
 * namespace per worker joined to it by a veth pair. Addresses are link-local (169.254.S.0/24, S
 * picked among the /24s no interface on this machine uses) and every name carries a tag unique to
 * the run, so two runs cannot collide. Everything is removed by `remove()`, and by a synchronous
 * last resort when the process exits any other way (Ctrl-C, an uncaught error).
 */
export interface WorkerLink {
  readonly namespace: string;
  /** The veth end inside the worker's namespace, and its peer in the root namespace. */
  readonly inside: string;
  readonly outside: string;
  readonly address: string;
}

export interface Degradation {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
}

export class NemesisNetwork {
  readonly workers: WorkerLink[] = [];
  /** Whether this kernel has tc netem (some VM kernels lack it); without it, see degrade(). */
  netem = false;
  private readonly partitions = new Map<number, number>();
  private readonly degradations = new Map<
    number,
    {count: number; rules: string[][]}
  >();
  private removed = false;
  private readonly lastResort = () => this.removeSync();

  private constructor(
    readonly tag: string,
    readonly bridge: string,
    readonly subnet: number,
  ) {}

  /** The store's address, on the bridge. */
  get storeAddress(): string {
    return `169.254.${this.subnet}.1`;
  }

  static async create(workerCount: number): Promise<NemesisNetwork> {
    if (process.getuid?.() !== 0)
      throw new Error(
        'the nemesis needs root: it creates network namespaces, veth pairs and iptables rules',
      );
    for (const tool of ['ip', 'tc', 'iptables'])
      await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(
          `the nemesis needs ${tool} (Debian: iproute2, iptables; npm run setup installs them)`,
        );
      });
    const tag = randomBytes(2).toString('hex');
    const network = new NemesisNetwork(tag, `nm${tag}br`, await freeSubnet());
    process.once('exit', network.lastResort);
    try {
      await network.build(workerCount);
    } catch (error) {
      await network.remove();
      throw error;
    }
    return network;
  }

  private async build(workerCount: number): Promise<void> {
    await run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await run('ip', [
      'addr',
      'add',
      `${this.storeAddress}/24`,
      'dev',
      this.bridge,
    ]);
    await run('ip', ['link', 'set', this.bridge, 'up']);
    for (let index = 0; index < workerCount; index++) {
      const link: WorkerLink = {
        namespace: `nemesis-${this.tag}-w${index}`,
        inside: `nm${this.tag}n${index}`,
        outside: `nm${this.tag}h${index}`,
        address: `169.254.${this.subnet}.${10 + index}`,
      };
      this.workers.push(link);
      await run('ip', ['netns', 'add', link.namespace]);
      await run('ip', [
        'link',
        'add',
        link.outside,
        'type',
        'veth',
        'peer',
        'name',
        link.inside,
      ]);
      await run('ip', ['link', 'set', link.inside, 'netns', link.namespace]);
      await run('ip', ['link', 'set', link.outside, 'master', this.bridge]);
      await run('ip', ['link', 'set', link.outside, 'up']);
      await this.inNamespace(index, [
        'ip',
        'addr',
        'add',
        `${link.address}/24`,
        'dev',
        link.inside,
      ]);
      await this.inNamespace(index, ['ip', 'link', 'set', link.inside, 'up']);
      await this.inNamespace(index, ['ip', 'link', 'set', 'lo', 'up']);
    }
    const first = this.workers[0];
    if (first) {
      this.netem =
        (await tryRun('tc', [
          'qdisc',
          'replace',
          'dev',
          first.outside,
          'root',
          'netem',
          'delay',
          '1ms',
        ])) === undefined;
      if (this.netem)
        await run('tc', ['qdisc', 'del', 'dev', first.outside, 'root']);
    }
  }

  /** The command prefix that runs a program in worker `index`'s namespace. */
  execIn(index: number): string[] {
    return ['ip', 'netns', 'exec', this.link(index).namespace];
  }

  /** Cuts worker `index` off from the store, both ways (overlapping partitions nest). */
  async partition(index: number): Promise<void> {
    const count = this.partitions.get(index) ?? 0;
    this.partitions.set(index, count + 1);
    if (count === 0)
      for (const rule of this.partitionRules())
        await this.inNamespace(index, ['iptables', '-I', ...rule]);
  }

  async heal(index: number): Promise<void> {
    const count = this.partitions.get(index) ?? 0;
    if (count === 0) return;
    this.partitions.set(index, count - 1);
    if (count === 1)
      for (const rule of this.partitionRules())
        await this.inNamespace(index, ['iptables', '-D', ...rule]);
  }

  /**
   * Delay and loss on worker `index`'s link, both directions: tc netem where the kernel has it.
   * Without netem, loss is iptables' random drop (statistic match) and delay is a tc tbf rate
   * limit small enough that requests queue (a slow link rather than a fixed delay).
   */
  async degrade(index: number, degradation: Degradation): Promise<void> {
    const current = this.degradations.get(index);
    if (current) {
      current.count++;
      return;
    }
    const link = this.link(index);
    const rules: string[][] = [];
    if (this.netem) {
      const netem = [
        'netem',
        'delay',
        `${degradation.delayMs}ms`,
        `${degradation.jitterMs}ms`,
        'loss',
        `${degradation.lossPercent}%`,
      ];
      await run('tc', [
        'qdisc',
        'replace',
        'dev',
        link.outside,
        'root',
        ...netem,
      ]);
      await this.inNamespace(index, [
        'tc',
        'qdisc',
        'replace',
        'dev',
        link.inside,
        'root',
        ...netem,
      ]);
    } else {
      const tbf = [
        'tbf',
        'rate',
        '256kbit',
        'burst',
        '4kb',
        'latency',
        `${Math.max(50, degradation.delayMs * 4)}ms`,
      ];
      await run('tc', [
        'qdisc',
        'replace',
        'dev',
        link.outside,
        'root',
        ...tbf,
      ]);
      await this.inNamespace(index, [
        'tc',
        'qdisc',
        'replace',
        'dev',
        link.inside,
        'root',
        ...tbf,
      ]);
      const probability = (degradation.lossPercent / 100).toFixed(3);
      rules.push([
        'INPUT',
        '-s',
        this.storeAddress,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        probability,
        '-j',
        'DROP',
      ]);
      rules.push([
        'OUTPUT',
        '-d',
        this.storeAddress,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        probability,
        '-j',
        'DROP',
      ]);
      for (const rule of rules)
        await this.inNamespace(index, ['iptables', '-I', ...rule]);
    }
    this.degradations.set(index, {count: 1, rules});
  }

  async restore(index: number): Promise<void> {
    const current = this.degradations.get(index);
    if (!current) return;
    if (--current.count > 0) return;
    this.degradations.delete(index);
    const link = this.link(index);
    await tryRun('tc', ['qdisc', 'del', 'dev', link.outside, 'root']);
    await tryRun('ip', [
      'netns',
      'exec',
      link.namespace,
      'tc',
      'qdisc',
      'del',
      'dev',
      link.inside,
      'root',
    ]);
    for (const rule of current.rules)
      await this.inNamespace(index, ['iptables', '-D', ...rule]);
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    process.removeListener('exit', this.lastResort);
    // The veth first: a namespace outlives its name while anything still refers to it, and its veth
    // (with the peer in the root namespace) with it.
    for (const link of this.workers) {
      await tryRun('ip', ['link', 'del', link.outside]);
      await tryRun('ip', ['netns', 'del', link.namespace]);
    }
    await tryRun('ip', ['link', 'del', this.bridge]);
  }

  /** What is left of this run's network, as `ip` lists it (for the tests: nothing, once removed). */
  static async leftovers(tag: string): Promise<string[]> {
    const namespaces = (await run('ip', ['netns', 'list']))
      .split('\n')
      .filter(line => line.includes(`nemesis-${tag}-`));
    const links = (await run('ip', ['-o', 'link', 'show']))
      .split('\n')
      .filter(line => line.includes(`nm${tag}`));
    return [...namespaces, ...links];
  }

  private removeSync(): void {
    if (this.removed) return;
    this.removed = true;
    for (const link of this.workers) {
      for (const args of [
        ['link', 'del', link.outside],
        ['netns', 'del', link.namespace],
      ]) {
        try {
          execFileSync('ip', args, {stdio: 'ignore'});
        } catch {
          // Already gone.
        }
      }
    }
    try {
      execFileSync('ip', ['link', 'del', this.bridge], {stdio: 'ignore'});
    } catch {
      // Already gone.
    }
  }

  private partitionRules(): string[][] {
    return [
      ['INPUT', '-s', this.storeAddress, '-j', 'DROP'],
      ['OUTPUT', '-d', this.storeAddress, '-j', 'DROP'],
    ];
  }

  private link(index: number): WorkerLink {
    const link = this.workers[index];
    if (!link) throw new Error(`no worker ${index}`);
    return link;
  }

  private async inNamespace(index: number, command: string[]): Promise<void> {
    const [program, ...args] = [...this.execIn(index), ...command] as [
      string,
      ...string[],
    ];
    await run(program, args);
  }
}

/** A 169.254.S.0/24 no address or route on this machine is in (0 and 255 are left alone). */
async function freeSubnet(): Promise<number> {
  const used = `${await run('ip', ['-o', '-4', 'addr', 'show'])}\n${await run('ip', ['-4', 'route', 'show', 'table', 'all'])}`;
  for (let tries = 0; tries < 200; tries++) {
    const subnet = 1 + Math.floor(Math.random() * 254);
    if (!used.includes(`169.254.${subnet}.`)) return subnet;
  }
  throw new Error('no free 169.254.S.0/24 for the nemesis network');
}
