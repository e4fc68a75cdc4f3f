import {
  type DynamicModule,
  Global,
  Injectable,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';

import { type DatabaseOptions, dataSourceOptions } from './data-source-options.js';
import { Database } from './database.js';
import { migrateDatabase } from './migrate-database.js';
import {
  attachPipelinedStatements,
  PipelinedStatements,
  pipelinedStatementsOf,
} from './pipelined-statements.js';

export interface PersistenceOptions extends DatabaseOptions {
  /** Apply pending migrations before the app serves (default true). */
  readonly migrationsRun?: boolean;
  /** Start-up connection attempts before giving up (default 10, 3 s apart). */
  readonly retryAttempts?: number;
}

export interface PersistenceModuleAsyncOptions {
  readonly inject?: (string | symbol | (abstract new (...args: never[]) => unknown))[];
  readonly useFactory: (...args: never[]) => PersistenceOptions | Promise<PersistenceOptions>;
}

/** Closes the app's pipelined client with the app (TypeORM closes its own pool). */
@Injectable()
class PipelinedStatementsShutdown implements OnApplicationShutdown {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    await pipelinedStatementsOf(this.dataSource)?.end();
  }
}

@Global()
@Module({})
export class PersistenceModule {
  static forRootAsync(options: PersistenceModuleAsyncOptions): DynamicModule {
    let migrationsRun = true;
    let resolvedOptions: PersistenceOptions | undefined;
    return {
      module: PersistenceModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => {
            const resolved = await options.useFactory(...(args as never[]));
            migrationsRun = resolved.migrationsRun ?? true;
            resolvedOptions = resolved;
            return {
              ...dataSourceOptions(resolved),
              retryAttempts: resolved.retryAttempts ?? 10,
              retryDelay: 3000,
            };
          },
          dataSourceFactory: async (typeOrmOptions?: DataSourceOptions) => {
            const dataSource = await new DataSource(
              typeOrmOptions as DataSourceOptions,
            ).initialize();
            if (migrationsRun) {
              await migrateDatabase(dataSource);
            }
            const pipelinePoolSize = resolvedOptions?.pipelinePoolSize ?? 0;
            if (resolvedOptions && pipelinePoolSize > 0) {
              attachPipelinedStatements(
                dataSource,
                new PipelinedStatements({
                  url: resolvedOptions.url,
                  poolSize: pipelinePoolSize,
                  connectTimeoutMs: resolvedOptions.connectTimeoutMs ?? 3000,
                  applicationName: resolvedOptions.applicationName ?? 'gatehouse',
                }),
              );
            }
            return dataSource;
          },
        }),
      ],
      providers: [Database, PipelinedStatementsShutdown],
      exports: [Database],
    };
  }
}
