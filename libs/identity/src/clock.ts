import { Injectable } from '@nestjs/common';

/** The time source of every rule with an expiry; tests replace it to move time instead of sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
