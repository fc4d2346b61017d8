import {strict as assert} from 'node:assert';
import {join} from 'node:path';
import {Lock} from '../../shared';
import {startNodeChild} from '../reliability/child-process';

export interface PausedWriterOutcome {
  /** The paused holder's fence. */
  readonly fence: string;
  /** What its write did once resumed. */
  readonly event: string;
  readonly code?: string;
  readonly message?: string;
}

/**
 * Runs fenced-writer.js with `env` (IDENTIFIER, LEASE_MS, ...), pauses it (SIGSTOP) once it holds
 * the lock, takes the lock over once its lease has run out, lets `successorWrites` write with the
 * new grant, resumes the holder and resolves what its late write did. The successor is released.
 */
export async function pausedWriterOutcome(
  env: Record<string, string>,
  successorWrites: (successor: Lock) => Promise<unknown>,
): Promise<PausedWriterOutcome & {successorFence: bigint}> {
  const holder = startNodeChild(join(__dirname, 'fenced-writer.js'), [], {
    ...process.env,
    ...env,
  });
  try {
    const acquired = await holder.lineWhere(
      (line): line is {event: string; fence: string} =>
        (line as {event?: string}).event === 'acquired',
      30_000,
    );
    holder.kill('SIGSTOP');
    const successor = await Lock.acquire(env.IDENTIFIER as string, {
      waitForMs: Number(env.LEASE_MS) * 10,
    });
    assert.ok(
      successor,
      "the lock is taken once the paused holder's lease runs out",
    );
    assert.ok(
      (successor.fence as bigint) > BigInt(acquired.fence),
      `the successor's fence ${successor.fence} is above ${acquired.fence}`,
    );
    await successorWrites(successor);
    holder.kill('SIGCONT');
    const outcome = await holder.lineWhere(
      (line): line is {event: string; code?: string; message?: string} =>
        ['wrote', 'refused'].includes((line as {event?: string}).event ?? ''),
      30_000,
    );
    assert.equal(await holder.exited, 0, holder.stderr());
    await successor.release();
    return {
      ...outcome,
      fence: acquired.fence,
      successorFence: successor.fence as bigint,
    };
  } finally {
    holder.kill('SIGKILL');
  }
}
