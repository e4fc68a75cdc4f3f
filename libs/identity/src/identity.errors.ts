/**
 * Domain errors: one class per stable code, with the HTTP status it maps to and a message safe to show
 * to the caller. The apps' error filters render them; identity itself never sees HTTP.
 */
export abstract class IdentityError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
}

export interface FieldProblem {
  readonly field: string;
  readonly messages: readonly string[];
}

export class ValidationFailedError extends IdentityError {
  readonly status = 400;
  readonly code = 'VALIDATION_FAILED';

  constructor(readonly details: readonly FieldProblem[]) {
    super('The request is invalid.');
  }
}

export class EmailTakenError extends IdentityError {
  readonly status = 409;
  readonly code = 'EMAIL_TAKEN';

  constructor() {
    super('An account with this email already exists.');
  }
}

/** Start-up refusal, never an HTTP answer: see `UserService.ensureBootstrapOperator`. */
export class BootstrapOperatorConflictError extends Error {
  constructor() {
    super(
      'ADMIN_EMAIL belongs to an existing account whose password is not ADMIN_PASSWORD; refusing to make it an admin.',
    );
  }
}
