import {strict as assert} from 'node:assert';
import {checkHistory} from '../nemesis/checker';
import type {FaultRecord, History, OpEvent} from '../nemesis/history';
import type {LogEntry} from '../nemesis/register';

/** The nemesis checker on small made-up histories: each rule can fail, and a clean history passes. */
const BOUNDS = {opBoundMs: 1000, recoveryBoundMs: 500};

function op(
  worker: number,
  name: string,
  fence: string,
  from: number,
  to: number,
  outcome: 'ok' | 'fail' | 'unknown' = 'ok',
): OpEvent[] {
  const base = {worker, incarnation: 0, op: name};
  return [
    {...base, t: 'invoke', at: from},
    {...base, t: 'granted', at: from + 1, fence},
    {...base, t: outcome, at: to, fence},
  ];
}

function history(ops: OpEvent[][], faults: FaultRecord[] = []): History {
  return {
    ops: ops.flat().sort((a, b) => a.at - b.at),
    faults,
    incarnations: [0, 1].map(worker => ({
      worker,
      incarnation: 0,
      start: 0,
      killed: false,
    })),
  };
}

const rules = (h: History, log: LogEntry[], endedAt = 100) =>
  checkHistory(h, log, BOUNDS, endedAt).violations.map(
    violation => violation.rule,
  );

describe('nemesis checker', () => {
  it('passes a clean history', () => {
    assert.deepEqual(
      rules(history([op(0, 'a', '1', 0, 10), op(1, 'b', '2', 20, 30)]), [
        ['a', '1'],
        ['b', '2'],
      ]),
      [],
    );
  });

  it('catches an acknowledged increment missing from the register (a lost write)', () => {
    assert.deepEqual(
      rules(history([op(0, 'a', '1', 0, 10), op(1, 'b', '2', 20, 30)]), [
        ['b', '2'],
      ]),
      ['lost'],
    );
  });

  it('catches an increment counted twice, and one that failed yet was applied', () => {
    assert.deepEqual(
      rules(
        history([op(0, 'a', '1', 0, 10), op(1, 'b', '2', 20, 30, 'fail')]),
        [
          ['a', '1'],
          ['a', '1'],
          ['b', '2'],
        ],
      ).sort(),
      ['duplicated', 'failed-but-applied'],
    );
  });

  it('catches a write below a fence already written (a stale holder), and accepts unknown outcomes either way', () => {
    const h = history([
      op(0, 'a', '5', 0, 40),
      op(1, 'b', '7', 20, 30),
      op(1, 'c', '8', 50, 60, 'unknown'),
    ]);
    assert.deepEqual(
      rules(h, [
        ['b', '7'],
        ['a', '5'],
      ]),
      ['fence-order'],
    );
    assert.deepEqual(
      rules(h, [
        ['a', '5'],
        ['b', '7'],
      ]),
      [],
    );
  });

  it('catches an operation past its bound, not counting the time its worker was paused', () => {
    const pause: FaultRecord = {
      id: 0,
      kind: 'pause',
      worker: 0,
      start: 100,
      end: 2100,
      detail: '',
    };
    assert.deepEqual(
      rules(history([op(0, 'a', '1', 0, 2500)], [pause]), [['a', '1']], 2600),
      [],
    );
    assert.deepEqual(
      rules(history([op(0, 'a', '1', 0, 2500)]), [['a', '1']], 2600),
      ['op-bound'],
    );
  });

  it('catches a lock not granted again within the bound once every fault has healed', () => {
    const partition: FaultRecord = {
      id: 0,
      kind: 'partition',
      worker: 0,
      start: 0,
      end: 100,
      detail: '',
    };
    assert.deepEqual(
      rules(
        history([op(1, 'a', '1', 300, 310)], [partition]),
        [['a', '1']],
        2000,
      ),
      [],
    );
    assert.deepEqual(
      rules(
        history([op(1, 'a', '1', 900, 910)], [partition]),
        [['a', '1']],
        2000,
      ),
      ['recovery'],
    );
  });
});
