export { renderConfigTable } from './config-table.js';
export { ConfigModule, GATEHOUSE_CONFIG, InjectConfig } from './config.module.js';
export { type Env, type EnvName, envSchema } from './env.schema.js';
export { childEnvironment, ConfigError, type GatehouseConfig, loadConfig } from './load-config.js';
