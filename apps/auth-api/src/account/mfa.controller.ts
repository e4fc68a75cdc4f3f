import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import {
  ACCOUNT_SCOPE,
  type ClientContext,
  MfaService,
  UserService,
  ValidationFailedError,
} from '@gatehouse/identity';
import { CurrentUser, RequireFreshAuth, RequireScopes } from '@gatehouse/nest-auth';
import QRCode from 'qrcode';

import {
  MfaFactorResponseDto,
  PasswordConfirmationDto,
  RecoveryCodesResponseDto,
  RemoveFactorRequestDto,
  toFactorResponse,
  TotpConfirmRequestDto,
  TotpEnrolmentResponseDto,
} from './mfa.dto.js';
import { SENSITIVE_CHANGE_MAX_AGE_SECONDS, SIGN_IN_AGAIN } from './sensitive-changes.js';

const ATTEMPTS =
  '`RATE_LIMITED` with `Retry-After`: more than 5 wrong codes or passwords for the user in 15 minutes.';

/**
 * The caller's second factors (cookie, or a first-party `account` token): enrol a TOTP app, confirm
 * it, list, remove, and regenerate the recovery codes. Every change needs a recent sign-in.
 */
@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me/mfa')
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly users: UserService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Your confirmed second factors (never their secrets).' })
  @ApiOkResponse({ type: [MfaFactorResponseDto] })
  async list(@CurrentUser() caller: CurrentUser): Promise<MfaFactorResponseDto[]> {
    return (await this.mfa.list(caller.userId())).map(toFactorResponse);
  }

  @Post('totp')
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Start enrolling an authenticator app (TOTP, RFC 6238).',
    description: `Answers the secret, its \`otpauth://\` URI and a QR code of it; the factor counts once \`POST /me/mfa/totp/{id}/confirm\` confirms it with a code, and is dropped if not confirmed within 15 minutes. ${SIGN_IN_AGAIN}`,
  })
  @ApiCreatedResponse({ type: TotpEnrolmentResponseDto })
  async enrolTotp(@CurrentUser() caller: CurrentUser): Promise<TotpEnrolmentResponseDto> {
    const user = await this.users.get(caller.userId());
    const enrolment = await this.mfa.enrolTotp(user);
    const qrSvg = await QRCode.toString(enrolment.uri, { type: 'svg', margin: 2 });
    return { ...enrolment, qrSvg };
  }

  @Post('totp/:id/confirm')
  @HttpCode(200)
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Confirm an enrolment with a code of the app; the first factor brings recovery codes.',
    description: SIGN_IN_AGAIN,
  })
  @ApiOkResponse({ type: RecoveryCodesResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: '`VALIDATION_FAILED`; `MFA_CODE_INVALID` (wrong or already used code).',
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: '`MFA_FACTOR_NOT_FOUND`: unknown, expired, or another user’s.',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: ATTEMPTS })
  async confirmTotp(
    @Param('id', uuidParam()) id: string,
    @Body() body: TotpConfirmRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<RecoveryCodesResponseDto> {
    const recoveryCodes = await this.mfa.confirmTotp(
      caller.userId(),
      id,
      body.code.trim(),
      client.ip,
    );
    return { recoveryCodes };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @ApiOperation({
    summary: 'Remove a factor; needs the current password or a current code.',
    description: `Removing the last factor also deletes the recovery codes: the account signs in with the password alone again. ${SIGN_IN_AGAIN}`,
  })
  @ApiNoContentResponse({ description: 'Removed (`mfa.factor_removed`).' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: '`VALIDATION_FAILED`: neither or both of `password` and `code`.',
  })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: '`REAUTHENTICATION_FAILED`: wrong password or code.',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: '`MFA_FACTOR_NOT_FOUND`.' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: ATTEMPTS })
  async remove(
    @Param('id', uuidParam()) id: string,
    @Body() body: RemoveFactorRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    if ((body.password === undefined) === (body.code === undefined)) {
      throw new ValidationFailedError([
        { field: 'password', messages: ['send either password or code'] },
      ]);
    }
    const proof =
      body.password !== undefined ? { password: body.password } : { code: body.code!.trim() };
    await this.mfa.remove(caller.userId(), id, proof, client.ip);
  }

  @Post('recovery-codes')
  @HttpCode(200)
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Ten new recovery codes; the previous set stops working. Needs the password.',
    description: SIGN_IN_AGAIN,
  })
  @ApiOkResponse({ type: RecoveryCodesResponseDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description: '`REAUTHENTICATION_FAILED`: wrong password.',
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: '`MFA_FACTOR_NOT_FOUND`: the account has no confirmed factor.',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: ATTEMPTS })
  async regenerateRecoveryCodes(
    @Body() body: PasswordConfirmationDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<RecoveryCodesResponseDto> {
    const recoveryCodes = await this.mfa.regenerateRecoveryCodes(
      caller.userId(),
      body.password,
      client.ip,
    );
    return { recoveryCodes };
  }
}
