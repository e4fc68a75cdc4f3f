import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply } from 'fastify';

/** Names the process that answers, so `npm start` counts only its own apps as ready. */
const INSTANCE_HEADER = {
  'Gatehouse-Instance': {
    description:
      '`INSTANCE_ID`, when set (`npm start` sets a fresh one per run); absent otherwise.',
    schema: { type: 'string' },
  },
};

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    @InjectConfig() private readonly config: GatehouseConfig,
  ) {}

  private nameInstance(reply: FastifyReply): void {
    if (this.config.instanceId) {
      void reply.header('gatehouse-instance', this.config.instanceId);
    }
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process serves requests (no dependency is checked).' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } }, headers: INSTANCE_HEADER })
  live(@Res({ passthrough: true }) reply: FastifyReply): { status: 'ok' } {
    this.nameInstance(reply);
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers within one second.' })
  @ApiOkResponse({
    schema: { example: { status: 'ok', info: { database: { status: 'up' } } } },
    headers: INSTANCE_HEADER,
  })
  @ApiServiceUnavailableResponse({ description: '`NOT_READY`: a dependency is down.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    this.nameInstance(reply);
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
      ]);
    } catch {
      throw new ServiceUnavailableException({
        error: 'NOT_READY',
        message: 'A dependency is down: database.',
      });
    }
  }
}
