import {join} from 'node:path';
import {Datastore} from '@google-cloud/datastore';
import {cleanupStaleLocks, configureLocking, Lock, peek} from '../../shared';
import {holderIdOf} from '../../shared/core/holder-id';
import {delay, startNodeChild} from './child-process';
import type {ScenarioResult} from './report';

const STEAL_AFTER_MS = 2000;
const CLEANUP_MAX_AGE_MS = 2000;

interface Held {
  readonly token: string;
  readonly fence: string;
  readonly acquiredAt: number;
}
const isHeld = (line: unknown): line is Held =>
  typeof (line as Held)?.token === 'string';

/** A holder process that acquired `identifier` and was then SIGKILLed. */
async function killedHolder(
  identifier: string,
  host: string,
  project: string,
): Promise<Held & {killedAt: number}> {
  const holder = startNodeChild(join(__dirname, 'crash-holder.js'), [], {
    ...process.env,
    DATASTORE_EMULATOR_HOST: host,
    GOOGLE_CLOUD_PROJECT: project,
    IDENTIFIER: identifier,
  });
  const held = await holder.lineWhere(isHeld, 30_000);
  holder.kill('SIGKILL');
  await holder.exited;
  return {...held, killedAt: Date.now()};
}

/**
 * Holder crash on one emulator. A SIGKILLed holder never releases: a waiter with stealAfterMs must
 * get the lock only after the steal time, with a higher fence; a lock without stealAfterMs must
 * survive cleanup until it passes the maximum age, and then be removed.
 */
export async function holderCrash(
  host: string,
  project: string,
): Promise<Omit<ScenarioResult, 'scenario' | 'durationMs'>> {
  const datastore = new Datastore({projectId: project, apiEndpoint: host});
  configureLocking({datastore});
  const problems: string[] = [];
  const details: string[] = [];
  try {
    // Steal: the waiter may not take it early, and takes it once the steal time has passed.
    const stolenId = `crash-steal:${process.pid}:${Date.now()}`;
    const victim = await killedHolder(stolenId, host, project);
    const early = await Lock.acquire(stolenId, {
      wait: false,
      stealAfterMs: STEAL_AFTER_MS,
    });
    if (early)
      problems.push(
        `a waiter stole the lock ${Date.now() - victim.acquiredAt} ms after the grant, before the steal time`,
      );
    const waitStarted = Date.now();
    const thief = await Lock.acquire(stolenId, {
      stealAfterMs: STEAL_AFTER_MS,
      waitForMs: STEAL_AFTER_MS * 5,
    });
    if (!thief) {
      problems.push(
        `the waiter did not get the lock within ${STEAL_AFTER_MS * 5} ms`,
      );
    } else {
      const heldForMs = thief.acquiredAt.getTime() - victim.acquiredAt;
      details.push(
        `steal: holder SIGKILLed ${victim.killedAt - victim.acquiredAt} ms after its grant; the waiter (stealAfterMs ${STEAL_AFTER_MS}) got the lock ` +
          `${heldForMs} ms after the dead holder's grant, having waited ${Date.now() - waitStarted} ms; fence ${victim.fence} -> ${String(thief.fence)}`,
      );
      if (heldForMs < STEAL_AFTER_MS)
        problems.push(
          `stolen after ${heldForMs} ms, before the steal time of ${STEAL_AFTER_MS} ms`,
        );
      if (!(BigInt(String(thief.fence)) > BigInt(victim.fence)))
        problems.push(
          `the thief's fence ${String(thief.fence)} is not above the dead holder's ${victim.fence}`,
        );
      if (!(await thief.release()))
        problems.push("the thief's release did not find its lock");
    }

    // Cleanup: an abandoned lock without stealAfterMs stays until the maximum age, then goes.
    const abandonedId = `crash-cleanup:${process.pid}:${Date.now()}`;
    const abandoned = await killedHolder(abandonedId, host, project);
    await cleanupStaleLocks({maxAgeMs: CLEANUP_MAX_AGE_MS});
    const beforeAge = await peek(abandonedId);
    if (beforeAge?.holderId !== holderIdOf(abandoned.token))
      problems.push(
        'cleanup removed the lock before it reached the maximum age',
      );
    await delay(
      Math.max(0, abandoned.acquiredAt + CLEANUP_MAX_AGE_MS + 100 - Date.now()),
    );
    const {deleted} = await cleanupStaleLocks({maxAgeMs: CLEANUP_MAX_AGE_MS});
    const afterAge = await peek(abandonedId);
    if (afterAge !== null)
      problems.push('cleanup left the abandoned lock past the maximum age');
    details.push(
      `cleanup (maxAgeMs ${CLEANUP_MAX_AGE_MS}): the dead holder's lock was ${beforeAge ? 'kept' : 'NOT kept'} while younger, and ` +
        `${afterAge === null ? 'removed' : 'NOT removed'} once older (cleanup deleted ${deleted})`,
    );
    const fresh = await Lock.acquire(abandonedId, {wait: false});
    if (!fresh) problems.push('the lock could not be taken after cleanup');
    await fresh?.release();
  } finally {
    configureLocking();
    await datastore.close?.();
  }
  return {
    size: '2 holder processes SIGKILLed while holding (one stolen from, one cleaned up)',
    lost:
      problems.length === 0
        ? 'nothing: no early steal, no early cleanup, no lock left behind'
        : problems.join('; '),
    passed: problems.length === 0,
    details,
  };
}
