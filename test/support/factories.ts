import { randomUUID } from 'node:crypto';

/** Unique per call, so tests sharing a worker database never collide. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID()}@example.com`;
}

export const STRONG_PASSWORD = 'correct horse battery staple';
