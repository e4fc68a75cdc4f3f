import { readFile, writeFile } from 'node:fs/promises';

import { renderConfigTable } from '@gatehouse/config';

/**
 * `npm run config:table` rewrites the configuration table of docs/operators.md from
 * libs/config/src/env.schema.ts.
 */
const FILE = 'docs/operators.md';
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

const document = await readFile(FILE, 'utf8');
const [before, rest] = document.split(START);
const after = rest?.split(END)[1];
if (before === undefined || after === undefined) {
  throw new Error(`${FILE} needs the markers ${START} and ${END}`);
}
await writeFile(FILE, `${before}${START}\n${renderConfigTable()}\n${END}${after}`);
process.stdout.write(`${FILE} configuration table updated.\n`);
