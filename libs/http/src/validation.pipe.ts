import { type ValidationError, ValidationPipe } from '@nestjs/common';
import { type FieldProblem, ValidationFailedError } from '@gatehouse/identity';

/**
 * class-validator runs every constraint of a missing property ("must be a string", "must be shorter
 * than…", "must be a valid email address"); for a field that is absent only "… is required" helps.
 * A present but invalid value keeps all its messages.
 */
function messagesOf(error: ValidationError): string[] {
  const messages = [...new Set(Object.values(error.constraints ?? {}))];
  return messages.length > 0 && error.value === undefined
    ? [`${error.property} is required`]
    : messages;
}

function fieldProblems(errors: readonly ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = messagesOf(error);
    const own = messages.length > 0 ? [{ field, messages }] : [];
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

/**
 * Whitelists DTO fields and refuses unknown ones: a 400 VALIDATION_FAILED lists every field with its
 * messages, so a client can fix the whole request at once. The offending values travel inside the
 * pipe only (to tell a missing field from an invalid one), never into the response.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: true },
    exceptionFactory: (errors) => new ValidationFailedError(fieldProblems(errors)),
  });
}
