import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated } from '@gatehouse/http';
import { ADMIN_SCOPE, AuditService } from '@gatehouse/identity';
import { RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

import { AuditQueryDto } from '../admin-api.dto.js';
import { decodeCursor, keysetPage } from '../keyset-cursor.js';

@ApiTags('audit')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('audit:read')
@Controller('admin/audit-events')
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'The audit log, newest first; filter by actor, subject, action, time.' })
  async list(@Query() query: AuditQueryDto) {
    const limit = query.limit ?? 50;
    const rows = await this.audit.list(query, decodeCursor(query.cursor, 'integer'), limit);
    return keysetPage(rows, limit, ({ position: _position, ...event }) => ({
      ...event,
      at: event.at.toISOString(),
    }));
  }
}
