import { ParseUUIDPipe } from '@nestjs/common';
import { ValidationFailedError } from '@gatehouse/identity';

/** A UUID path parameter; anything else is 400 VALIDATION_FAILED like every other bad input. */
export function uuidParam(field = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () =>
      new ValidationFailedError([{ field, messages: [`${field} must be a UUID`] }]),
  });
}
