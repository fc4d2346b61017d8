/**
 * A seeded generator (mulberry32): the same seed gives the same schedule on every machine, so a
 * failing run can be replayed. Not for anything secret.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) =>
    min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: items => items[int(0, items.length - 1)] as (typeof items)[number],
  };
}

/** A fresh seed, printed by the run so it can be given back with --seed. */
export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
