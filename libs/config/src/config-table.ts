import { envSchema } from './env.schema.js';

/** The README configuration table, rendered from the schema so the two never disagree. */
export function renderConfigTable(): string {
  const rows = Object.entries(envSchema).map(
    ([name, spec]) =>
      `| \`${name}\` | ${'default' in spec && spec.default !== undefined ? `\`${spec.default}\`` : '—'} | ${spec.description} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
