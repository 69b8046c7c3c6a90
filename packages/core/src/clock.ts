/**
 * Where the kit reads the time. Components that schedule or expire things take a `clock` option so
 * tests move time forward instead of sleeping; the default is the system clock.
 */
export interface Clock {
  /** Unix epoch milliseconds. */
  now(): number;
}

/** The system clock (`Date.now()`). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
