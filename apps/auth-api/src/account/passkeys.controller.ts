import { Body, Controller, Header, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ACCOUNT_SCOPE, type ClientContext, PasskeyService } from '@gatehouse/identity';
import { CurrentUser, RequireFreshAuth, RequireScopes } from '@gatehouse/nest-auth';

import {
  asRegistrationResponse,
  PasskeyRegisteredResponseDto,
  PasskeyRegistrationRequestDto,
  PasskeyRenameRequestDto,
  PasskeyResponseDto,
  PublicKeyCredentialOptionsDto,
  toPasskeyResponse,
} from './passkeys.dto.js';
import { SENSITIVE_CHANGE_MAX_AGE_SECONDS, SIGN_IN_AGAIN } from './sensitive-changes.js';

/**
 * The caller's passkeys (cookie, or a first-party `account` token): the two steps of adding one, and
 * renaming. They are listed by `GET /me/mfa` and removed by `DELETE /me/mfa/{id}` like any factor.
 */
@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me/mfa/passkeys')
export class PasskeysController {
  constructor(private readonly passkeys: PasskeyService) {}

  @Post('options')
  @HttpCode(200)
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @ApiCsrfChecked()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Start adding a passkey: options for `navigator.credentials.create()`.',
    description: `PublicKeyCredentialCreationOptionsJSON: relying party = the host name of \`ISSUER\`, a discoverable credential (residentKey required), user verification preferred, no attestation, the existing passkeys excluded. The challenge is single use and valid 5 minutes. ${SIGN_IN_AGAIN}`,
  })
  @ApiOkResponse({ type: PublicKeyCredentialOptionsDto })
  async options(@CurrentUser() caller: CurrentUser): Promise<object> {
    return this.passkeys.registrationOptions(caller.userId());
  }

  @Post()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @ApiCsrfChecked()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Finish adding a passkey with the credential the authenticator made.',
    description: `Verified against the challenge of \`POST /me/mfa/passkeys/options\` (spent either way), the origin of \`ISSUER\` and its host name as RP ID. The passkey is at once a second factor and a passwordless sign-in; the first factor of an account comes with ten recovery codes (\`mfa.passkey_registered\`). ${SIGN_IN_AGAIN}`,
  })
  @ApiCreatedResponse({ type: PasskeyRegisteredResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`VALIDATION_FAILED`; `PASSKEY_INVALID`: the response does not verify (unknown or expired challenge, another origin, tampered, or a credential already registered).',
  })
  async register(
    @Body() body: PasskeyRegistrationRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<PasskeyRegisteredResponseDto> {
    const { passkey, recoveryCodes } = await this.passkeys.register(
      caller.userId(),
      asRegistrationResponse(body.response),
      body.name,
      client.ip,
    );
    return { passkey: toPasskeyResponse(passkey), recoveryCodes };
  }

  @Patch(':id')
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Rename a passkey (`mfa.passkey_renamed`).' })
  @ApiOkResponse({ type: PasskeyResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: '`MFA_FACTOR_NOT_FOUND`: unknown, or another user’s.',
  })
  async rename(
    @Param('id', uuidParam()) id: string,
    @Body() body: PasskeyRenameRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<PasskeyResponseDto> {
    return toPasskeyResponse(await this.passkeys.rename(caller.userId(), id, body.name, client.ip));
  }
}
