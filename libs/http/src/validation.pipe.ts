import { type ValidationError, ValidationPipe } from '@nestjs/common';
import { type FieldProblem, ValidationFailedError } from '@gatehouse/identity';

function fieldProblems(errors: readonly ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = [...new Set(Object.values(error.constraints ?? {}))];
    const own = messages.length > 0 ? [{ field, messages }] : [];
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

/**
 * Whitelists DTO fields and refuses unknown ones: a 400 VALIDATION_FAILED lists every field with its
 * messages, so a client can fix the whole request at once.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(fieldProblems(errors)),
  });
}
