import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseDto, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  EmailChangeService,
  EmailVerificationService,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import { EmailLinkTokenDto } from './email.dto.js';

const INVALID_LINK = {
  type: ErrorResponseDto,
  description:
    '`VERIFICATION_TOKEN_INVALID`: unknown, used, superseded, cancelled or expired; nothing changed.',
};

/**
 * The mailed links, for apps that open them themselves (the `/verify-email`, `/confirm-email-change`
 * and `/cancel-email-change` pages post to the same services). The token is the credential: no
 * session needed.
 */
@ApiTags('account')
@Public()
@Controller('auth/email')
export class EmailLinksController {
  constructor(
    private readonly verifications: EmailVerificationService,
    private readonly changes: EmailChangeService,
  ) {}

  @Post('verify')
  @HttpCode(204)
  @ApiOperation({ summary: 'Verify the address with the token of the verification link.' })
  @ApiNoContentResponse({ description: 'Verified: `email_verified` is true from now on.' })
  @ApiBadRequestResponse(INVALID_LINK)
  async verify(@Body() body: EmailLinkTokenDto, @RequestClient() client: ClientContext) {
    await this.verifications.verify(body.token, client.ip);
  }

  @Post('change/confirm')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Confirm an email change with the token mailed to the new address.',
    description: 'The account’s address becomes the new one, verified. Sessions stay signed in.',
  })
  @ApiNoContentResponse({ description: 'Changed.' })
  @ApiBadRequestResponse(INVALID_LINK)
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: '`EMAIL_TAKEN`: another account took the address since; nothing changed.',
  })
  async confirmChange(@Body() body: EmailLinkTokenDto, @RequestClient() client: ClientContext) {
    await this.changes.confirm(body.token, client.ip);
  }

  @Post('change/cancel')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Cancel a pending email change with the token mailed to the current address.',
  })
  @ApiNoContentResponse({ description: 'Cancelled: the confirmation link no longer works.' })
  @ApiBadRequestResponse(INVALID_LINK)
  async cancelChange(@Body() body: EmailLinkTokenDto, @RequestClient() client: ClientContext) {
    await this.changes.cancel(body.token, client.ip);
  }
}
