import { type EnvVariable, envSchema } from './env.schema.js';

function documentedDefault(spec: EnvVariable<unknown>): string {
  if (spec.computedDefault !== undefined) {
    return spec.computedDefault;
  }
  if (spec.default === '') {
    return '(empty)';
  }
  return spec.default !== undefined ? `\`${spec.default}\`` : '—';
}

/** The configuration table of docs/operators.md, rendered from the schema so the two never disagree. */
export function renderConfigTable(): string {
  const rows = Object.entries(envSchema).map(
    ([name, spec]: [string, EnvVariable<unknown>]) =>
      `| \`${name}\` | ${documentedDefault(spec)} | ${spec.description} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
