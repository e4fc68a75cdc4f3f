import { type DynamicModule, Global, Inject, Module } from '@nestjs/common';

import type { GatehouseConfig } from './load-config.js';

export const GATEHOUSE_CONFIG = Symbol('GATEHOUSE_CONFIG');

/** Injects the frozen `GatehouseConfig`. */
export const InjectConfig = (): ParameterDecorator => Inject(GATEHOUSE_CONFIG);

/** Makes an already-loaded configuration injectable everywhere; the app's entry point loads it once. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: GatehouseConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: GATEHOUSE_CONFIG, useValue: config }],
      exports: [GATEHOUSE_CONFIG],
    };
  }
}
