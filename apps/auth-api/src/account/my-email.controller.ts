import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked, ErrorResponseDto, RequestClient } from '@gatehouse/http';
import {
  ACCOUNT_SCOPE,
  type ClientContext,
  EmailChangeService,
  EmailVerificationService,
} from '@gatehouse/identity';
import { CurrentUser, RequireFreshAuth, RequireScopes } from '@gatehouse/nest-auth';

import { EmailChangeRequestDto } from './email.dto.js';
import { SENSITIVE_CHANGE_MAX_AGE_SECONDS, SIGN_IN_AGAIN } from './sensitive-changes.js';

const MAIL_BUDGET =
  '`RATE_LIMITED` with `Retry-After`: `EMAIL_VERIFICATION_MAILS_PER_USER` links per `EMAIL_VERIFICATION_WINDOW_SECONDS`, verification and email change together.';

/** The caller's own address: verify it, or change it (cookie, or a first-party `account` token). */
@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me/email')
export class MyEmailController {
  constructor(
    private readonly verifications: EmailVerificationService,
    private readonly changes: EmailChangeService,
  ) {}

  @Post('verification')
  @HttpCode(202)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Mail another verification link to the account’s address.',
    description: 'The new link voids the previous one.',
  })
  @ApiAcceptedResponse({ description: 'The mail is queued.' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: '`EMAIL_ALREADY_VERIFIED`.' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: MAIL_BUDGET })
  async resendVerification(@CurrentUser() caller: CurrentUser): Promise<void> {
    await this.verifications.resend(caller.userId());
  }

  @Post()
  @HttpCode(202)
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @ApiOperation({
    summary: 'Change the address: it applies once the new address confirms.',
    description: `Needs the current password (wrong ones count against the login limits). A confirmation link goes to the new address and a notice with a cancel link to the current one. The answer is the same whether or not another account has the new address (a taken address gets no link). ${SIGN_IN_AGAIN}`,
  })
  @ApiAcceptedResponse({ description: 'The mails are queued.' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`VALIDATION_FAILED`: `password is incorrect`, an invalid address, or the current address.',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: `${MAIL_BUDGET} Also the login limits.`,
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`SERVICE_BUSY`: too many password hashes queued, with `Retry-After`.',
  })
  async requestChange(
    @Body() body: EmailChangeRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    await this.changes.request({ ...body, userId: caller.userId(), ip: client.ip });
  }
}
