import { ServiceBusyError } from '../identity.errors.js';

/**
 * Whose hash it is. A sign-in (login, password grant, sign-in page) goes before an account change
 * (registration, password change, operator creation): people already holding an account keep
 * getting in while sign-ups pile up.
 */
export type HashPriority = 'sign-in' | 'account-change';

/** What a refused request is told: a queue of argon2 jobs drains within a second or two. */
export const SERVICE_BUSY_RETRY_AFTER_SECONDS = 1;

export interface PasswordHashQueueOptions {
  /** Jobs running at once. */
  readonly concurrency: number;
  /** Jobs allowed to wait for a turn; past it a job is refused at once. */
  readonly maxWaiting: number;
}

interface Waiter {
  readonly start: () => void;
  readonly refuse: (error: ServiceBusyError) => void;
}

/**
 * A bounded, two-level priority queue for argon2 work. A full queue refuses at once with
 * `ServiceBusyError` (fail fast: a request that would wait longer than its client does is wasted
 * work), except that a sign-in takes the place of the newest waiting account change.
 */
export class PasswordHashQueue {
  private running = 0;
  private readonly waiting: Record<HashPriority, Waiter[]> = {
    'sign-in': [],
    'account-change': [],
  };

  constructor(private readonly options: PasswordHashQueueOptions) {}

  get waitingCount(): number {
    return this.waiting['sign-in'].length + this.waiting['account-change'].length;
  }

  run<T>(priority: HashPriority, job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running += 1;
        Promise.resolve()
          .then(job)
          .then(resolve, reject)
          .finally(() => {
            this.running -= 1;
            this.startNext();
          });
      };
      if (this.running < this.options.concurrency) {
        start();
      } else if (this.waitingCount < this.options.maxWaiting || this.shedFor(priority)) {
        this.waiting[priority].push({ start, refuse: reject });
      } else {
        reject(new ServiceBusyError(SERVICE_BUSY_RETRY_AFTER_SECONDS));
      }
    });
  }

  /** Makes room for a sign-in by refusing the account change that arrived last. */
  private shedFor(priority: HashPriority): boolean {
    const shed = priority === 'sign-in' ? this.waiting['account-change'].pop() : undefined;
    shed?.refuse(new ServiceBusyError(SERVICE_BUSY_RETRY_AFTER_SECONDS));
    return shed !== undefined;
  }

  private startNext(): void {
    const next = this.waiting['sign-in'].shift() ?? this.waiting['account-change'].shift();
    next?.start();
  }
}
