import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';

import { type DatabaseOptions, dataSourceOptions } from './data-source-options.js';
import { Database } from './database.js';
import { migrateDatabase } from './migrate-database.js';

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

@Global()
@Module({})
export class PersistenceModule {
  static forRootAsync(options: PersistenceModuleAsyncOptions): DynamicModule {
    let migrationsRun = true;
    return {
      module: PersistenceModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => {
            const resolved = await options.useFactory(...(args as never[]));
            migrationsRun = resolved.migrationsRun ?? true;
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
            return dataSource;
          },
        }),
      ],
      providers: [Database],
      exports: [Database],
    };
  }
}
