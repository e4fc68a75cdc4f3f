import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated, ErrorResponseDto, RequestClient, uuidParam } from '@gatehouse/http';
import { ADMIN_SCOPE, type ClientContext, MfaAdministrationService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

import {
  FactorResetDto,
  toFactorReset,
  toUserFactors,
  UserFactorsDto,
} from './admin-user-mfa.dto.js';

/** A user's second factors, for operators: what there is, and a reset for a user who lost theirs. */
@ApiTags('users')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('users:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`USER_NOT_FOUND`.' })
@Controller('admin/users')
export class AdminUserMfaController {
  constructor(private readonly factors: MfaAdministrationService) {}

  @Get(':id/mfa')
  @ApiOperation({
    summary: "The user's second factors and how many recovery codes are left.",
    description:
      'Kind and dates only: never a secret, a code or a recovery code. An enrolment never confirmed is not listed.',
  })
  @ApiOkResponse({ type: UserFactorsDto })
  async list(@Param('id', uuidParam()) id: string): Promise<UserFactorsDto> {
    return toUserFactors(await this.factors.list(id));
  }

  @Delete(':id/mfa')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reset: remove every second factor and recovery code, and end every session.',
    description:
      "For a user who lost their authenticator and recovery codes. In one transaction: the factors (authenticator apps and passkeys), recovery codes and pending second steps are deleted, every session of the user ends (sibling apps learn it through the revocation feed), `mfa.reset_by_operator` is audited with the operator and the counts, and the user is mailed (template `mfa-reset`). The user then signs in with the password alone and may enrol again. Operators manage their own factors at auth-api `/me/mfa` (it asks for the password): resetting one's own here is refused with 403 `MFA_RESET_OWN_FACTORS`. A user with no factor is answered the same way, with zero counts.",
  })
  @ApiOkResponse({ type: FactorResetDto })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      '`MFA_RESET_OWN_FACTORS`: the operator named themselves. `CSRF_REJECTED`: a cookie-authenticated write whose `Origin` (or `Referer`) is not in `TRUSTED_ORIGINS` (bearer requests are exempt). `FORBIDDEN`: a service token, or a missing capability.',
  })
  async reset(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<FactorResetDto> {
    return toFactorReset(await this.factors.reset(id, operator.userId(), client));
  }
}
