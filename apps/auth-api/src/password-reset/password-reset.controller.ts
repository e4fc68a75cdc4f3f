import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto, RequestClient } from '@gatehouse/http';
import { type ClientContext, PasswordResetService } from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import {
  FORGOT_PASSWORD_ANSWER,
  ForgotPasswordRequestDto,
  ForgotPasswordResponseDto,
  ResetPasswordRequestDto,
} from './password-reset.dto.js';

/** Password reset over mail, for apps with their own screens (the pages use the same service). */
@ApiTags('account')
@Public()
@Controller('auth/password')
export class PasswordResetController {
  constructor(private readonly resets: PasswordResetService) {}

  @Post('forgot')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Mail a link to choose a new password, if an account has this address.',
    description:
      'The same answer, and the same work on the request path, for every address: the request is queued and the worker decides whether an account gets a link. A newer request replaces the previous link.',
  })
  @ApiAcceptedResponse({ type: ForgotPasswordResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      '`RATE_LIMITED`, with `Retry-After`: `PASSWORD_RESET_REQUESTS_PER_ADDRESS` per address and `PASSWORD_RESET_REQUESTS_PER_IP` per IP per `PASSWORD_RESET_WINDOW_SECONDS`.',
  })
  async forgot(
    @Body() body: ForgotPasswordRequestDto,
    @RequestClient() client: ClientContext,
  ): Promise<ForgotPasswordResponseDto> {
    await this.resets.request(body.email, client.ip);
    return { message: FORGOT_PASSWORD_ANSWER };
  }

  @Post('reset')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Choose a new password with the token of a reset link; every session ends.',
    description:
      'In one transaction: the link is spent, the password set, every session of the account ends (cookie, refresh tokens, and access tokens at services following the revocation feed), the "password changed" mail is queued and `user.password_reset` audited.',
  })
  @ApiNoContentResponse({ description: 'Changed; sign in with the new password.' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`RESET_TOKEN_INVALID` (unknown, used, superseded, voided by a password change, or expired: nothing changed), or `VALIDATION_FAILED` with field messages (the password policy).',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      '`SERVICE_BUSY`: too many password hashes queued (sign-ins go first), with `Retry-After`.',
  })
  async reset(
    @Body() body: ResetPasswordRequestDto,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    await this.resets.reset({ ...body, ip: client.ip });
  }
}
