import { readFile, writeFile } from 'node:fs/promises';

import { renderConfigTable } from '@gatehouse/config';

/** `npm run config:table` rewrites the README configuration table from libs/config/src/env.schema.ts. */
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

const readme = await readFile('README.md', 'utf8');
const [before, rest] = readme.split(START);
const after = rest?.split(END)[1];
if (before === undefined || after === undefined) {
  throw new Error(`README.md needs the markers ${START} and ${END}`);
}
await writeFile('README.md', `${before}${START}\n${renderConfigTable()}\n${END}${after}`);
process.stdout.write('README.md configuration table updated.\n');
