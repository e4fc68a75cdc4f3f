import type { Clock } from './clock.js';

/** A clock unit tests move by hand, from `start` (epoch milliseconds). */
export class ManualClock implements Clock {
  private current: number;

  constructor(private readonly start: number) {
    this.current = start;
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves to `ms` milliseconds after the start (backwards too). */
  set(ms: number): void {
    this.current = this.start + ms;
  }
}
