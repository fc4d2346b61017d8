import {strict as assert} from 'node:assert';
import {linesOpen, oneAtATime} from '../../shared/waiting-room/one-at-a-time';
import type {WaitingRoomStore} from '../../shared/waiting-room/types';

/** Lets every callback of promises already settled run (a line is dropped in one). */
const settledCallbacks = () =>
  new Promise<void>(resolve => setImmediate(resolve));

/** Only its identity matters to oneAtATime: each stands for one store. */
const aRoom = () => ({}) as WaitingRoomStore;

/** Calls that record how many of them run at once and the order they start in. */
function recorder() {
  let running = 0;
  const seen = {most: 0, started: [] as string[]};
  const call =
    (name: string, fail = false) =>
    async () => {
      seen.started.push(name);
      seen.most = Math.max(seen.most, ++running);
      await new Promise(resolve => setTimeout(resolve, 5));
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
  return {seen, call};
}

describe('oneAtATime: one waiting-room write per lock at a time in a process', () => {
  it('runs the writes of one lock one after another, in the order they came', async () => {
    const room = aRoom();
    const {seen, call} = recorder();
    const names = ['a', 'b', 'c', 'd'];
    const answers = await Promise.all(
      names.map(name => oneAtATime(room, 'lock', call(name))),
    );
    assert.deepEqual(answers, names);
    assert.equal(seen.most, 1);
    assert.deepEqual(seen.started, names);
  });

  it('a write that fails hands its turn on, and its caller sees the failure', async () => {
    const room = aRoom();
    const {seen, call} = recorder();
    const first = oneAtATime(room, 'lock', call('first', true));
    const second = oneAtATime(room, 'lock', call('second'));
    await assert.rejects(first, /first failed/);
    assert.equal(await second, 'second');
    assert.equal(seen.most, 1);
  });

  it('writes of other locks, or of the same name in another store, do not wait', async () => {
    const room = aRoom();
    const {seen, call} = recorder();
    await Promise.all([
      oneAtATime(room, 'one', call('one')),
      oneAtATime(room, 'two', call('two')),
      oneAtATime(aRoom(), 'one', call('elsewhere')),
    ]);
    assert.equal(seen.most, 3);
  });

  it('a lock whose line has emptied starts its next write at once, and its line is gone', async () => {
    const room = aRoom();
    const {seen, call} = recorder();
    await oneAtATime(room, 'lock', call('earlier'));
    await settledCallbacks();
    assert.equal(linesOpen(room), 0, 'no line is kept for a settled write');
    const both = Promise.all([
      oneAtATime(room, 'lock', call('later')),
      oneAtATime(room, 'other', call('other')),
    ]);
    assert.equal(linesOpen(room), 2, 'one line per lock while writes run');
    await both;
    await settledCallbacks();
    assert.equal(seen.most, 2, 'the line did not hold on to the settled write');
    assert.equal(linesOpen(room), 0);
  });
});
