import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { IssuerDiscovery, Public, RevocationList } from '@gatehouse/nest-auth';

import { type HeaderWriter, NOTES_API_INSTANCE_ID } from '../notes/notes.controller.js';
import { NotesRepository } from '../notes/notes.repository.js';

type Check = 'up' | 'down';

interface Readiness {
  readonly status: 'ok' | 'not_ready';
  readonly checks: {
    readonly issuer: Check;
    readonly revocationFeed: Check;
    readonly database: Check;
  };
}

/**
 * Whether notes-api can serve: the issuer's discovery document has arrived (tokens can be verified),
 * the revocation feed has caught up (revoked tokens are refused) and its database answers. Until then
 * the process is up (`GET /health`) but not ready: 503 here, and bearer requests get 503 too.
 */
@ApiTags('health')
@Controller('health')
export class ReadinessController {
  constructor(
    private readonly discovery: IssuerDiscovery,
    private readonly revocations: RevocationList,
    private readonly notes: NotesRepository,
    @Inject(NOTES_API_INSTANCE_ID) private readonly instanceId: string | undefined,
  ) {}

  @Public()
  @Get('ready')
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', checks: { issuer: 'up', revocationFeed: 'up', database: 'up' } },
    },
    headers: {
      'Gatehouse-Instance': { description: '`INSTANCE_ID`, when set (`npm start` sets one).' },
    },
  })
  @ApiServiceUnavailableResponse({ description: 'Same body, `status: "not_ready"`.' })
  async ready(@Res({ passthrough: true }) response: HeaderWriter): Promise<Readiness> {
    if (this.instanceId) {
      response.header('gatehouse-instance', this.instanceId);
    }
    const checks = {
      issuer: this.discovery.metadata ? 'up' : 'down',
      revocationFeed: this.revocations.awaitingFeed ? 'down' : 'up',
      database: (await this.notes.ping()) ? 'up' : 'down',
    } as const;
    if (Object.values(checks).includes('down')) {
      throw new ServiceUnavailableException({ status: 'not_ready', checks });
    }
    return { status: 'ok', checks };
  }
}
