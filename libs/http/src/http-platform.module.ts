import { type DynamicModule, type ExceptionFilter, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ConfigModule, type GatehouseConfig } from '@gatehouse/config';
import { PersistenceModule } from '@gatehouse/persistence';

import { HealthController } from './health/health.controller.js';
import { RestErrorFilter } from './rest-error.filter.js';
import { createValidationPipe } from './validation.pipe.js';

export interface HttpPlatformOptions {
  readonly config: GatehouseConfig;
  /** Appears in logs and in pg_stat_activity. */
  readonly app: string;
  /**
   * The global error filter: `RestErrorFilter` unless the app serves another error surface too
   * (auth-api answers /oauth/* in RFC 6749 shape, even for body-parsing errors).
   */
  readonly errorFilter?: Type<ExceptionFilter>;
}

/**
 * Everything both Gatehouse apps share below their features: configuration, the database,
 * health checks, the global validation pipe and the REST error filter.
 */
@Module({})
export class HttpPlatformModule {
  static forRoot({ config, app, errorFilter }: HttpPlatformOptions): DynamicModule {
    const url = config.database.url;
    if (!url) {
      throw new Error('DATABASE_URL is not set and no embedded database was started for this app.');
    }
    return {
      module: HttpPlatformModule,
      imports: [
        ConfigModule.forRoot(config),
        PersistenceModule.forRootAsync({
          useFactory: () => ({
            url,
            poolSize: config.database.poolSize,
            pipelinePoolSize: config.database.pipelinePoolSize,
            connectTimeoutMs: config.database.connectTimeoutMs,
            migrationsRun: config.database.migrationsRun,
            applicationName: `gatehouse-${app}`,
          }),
        }),
        TerminusModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: errorFilter ?? RestErrorFilter },
      ],
    };
  }
}
