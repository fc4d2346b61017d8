import {strict as assert} from 'node:assert';
import {
  BENCH_GROUP,
  cpuByGroup,
  cpuUseBetween,
  sampleCpu,
  sampleProcessCpu,
} from '../bench/machine-cpu';

describe('bench: the machine CPU a burst used', () => {
  it('busy share, CPU per message and the ceiling it sets, from two samples', () => {
    // 2 cores over 10 s (20,000 core-ms), 15,000 of them busy, for 500 messages.
    const use = cpuUseBetween(
      {busyMs: 1000, totalMs: 4000, cores: 2},
      {busyMs: 16_000, totalMs: 24_000, cores: 2},
      500,
    );
    assert.equal(use.busyShare, 0.75);
    assert.equal(use.busyMsPerUnit, 30);
    // 2 cores × 1000 ms ÷ 30 ms per message.
    assert.equal(Math.round(use.ceilingPerSecond * 10) / 10, 66.7);
  });

  it('a sample of this machine counts every core, busy within total', () => {
    const sample = sampleCpu();
    assert.ok(sample.cores >= 1);
    assert.ok(sample.busyMs > 0 && sample.busyMs < sample.totalMs);
  });
});

describe('bench: CPU by process group', () => {
  it('per unit for each group, the rest of the machine as everything else, largest first', () => {
    const rows = cpuByGroup(
      new Map([
        ['Datastore emulator', 1000],
        ['function instances', 500],
      ]),
      new Map([
        ['Datastore emulator', 3000],
        ['function instances', 4500],
        ['Pub/Sub emulator', 1000],
      ]),
      10_000,
      100,
    );
    assert.deepEqual(rows, [
      {group: 'function instances', msPerUnit: 40},
      {group: 'Datastore emulator', msPerUnit: 20},
      {group: 'Pub/Sub emulator', msPerUnit: 10},
      {group: 'everything else', msPerUnit: 30},
    ]);
  });

  it('this process is found, counted as the bench', () => {
    let spent = 0;
    const started = Date.now();
    while (Date.now() - started < 50) spent++;
    assert.ok(spent > 0);
    assert.ok((sampleProcessCpu().get(BENCH_GROUP) ?? 0) > 0);
  });
});
