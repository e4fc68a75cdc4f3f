import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
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
import { ADMIN_SCOPE, type ClientContext, MailAdministrationService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

import { decodeCursor, keysetPage } from '../keyset-cursor.js';
import { MAIL_EXAMPLE, MailListQueryDto, toMailResponse } from './admin-mail.dto.js';

@ApiTags('mail')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@Controller('admin/mail')
export class AdminMailController {
  constructor(private readonly mail: MailAdministrationService) {}

  @Get()
  @RequireCapabilities('mail:read')
  @ApiOperation({
    summary: 'Every mail, newest first, keyset-paginated; optionally those in one status.',
    description:
      'Recipient, template, status, attempts, the last error and dates; never the content. Pass `nextCursor` back as `cursor` for the next page.',
  })
  @ApiOkResponse({ schema: { example: { items: [MAIL_EXAMPLE], nextCursor: null } } })
  async list(@Query() query: MailListQueryDto) {
    const limit = query.limit ?? 50;
    const rows = await this.mail.list(query.status, decodeCursor(query.cursor, 'uuid'), limit);
    return keysetPage(rows, limit, toMailResponse);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @RequireCapabilities('mail:manage')
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Queue a failed or dead mail again, now, with a fresh set of attempts (audited).',
  })
  @ApiOkResponse({ schema: { example: { ...MAIL_EXAMPLE, status: 'queued' } } })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: '`MAIL_NOT_FOUND`.' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: '`MAIL_NOT_RETRYABLE`: the mail is queued or sent.',
  })
  async retry(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toMailResponse(await this.mail.retry(id, operator.userId(), client));
  }
}
