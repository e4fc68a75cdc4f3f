import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';

import { AT_REST, Bench, WARM_UP_REQUESTS } from './apps.js';
import { MACHINE_CPUS, pinningNote, pinThisProcess } from './cpus.js';
import { CONNECTIONS, RUNS, SECONDS, WARM_UP_SECONDS } from './load.js';
import { type Goal, type Row, SCENARIOS, Stage } from './scenarios.js';

/**
 * `npm run bench [-- <scenario>...]`: starts the apps (and the peers in bench/peers) on a scratch
 * database of the PostgreSQL server at DATABASE_URL, drives them from separate processes (autocannon,
 * or our refresh-chain driver), stops them and prints markdown tables: every measurement with its
 * ratios to the baseline of its scenario and to notes-api's public route, both measured in the same
 * run; the targets, met or not; each process's RSS at rest, after the scale scenario and at
 * the end; and, with the `profile` scenario, the top self-time entries per hot path. A run of every
 * scenario also writes them to BENCHMARKS.md.
 */
type ScenarioName = keyof typeof SCENARIOS;

const AFTER_SCALE = 'after scale';
const END_OF_RUN = 'end of run';

const times = (ratio: number | undefined) => (ratio === undefined ? '–' : ratio.toFixed(2));

const rowsTable = (rows: readonly Row[]) =>
  [
    '| Scenario | Target | req/s | p50 ms | p99 ms | server CPU µs/req | × baseline | × notes-api public |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.target} | ${r.rps === undefined ? '–' : Math.round(r.rps).toLocaleString('en-US')} | ${r.p50} | ${r.p99} | ${r.cpuMicros === undefined ? '–' : r.cpuMicros.toFixed(1)} | ${times(r.ratio)} | ${times(r.ceiling)} |`,
    ),
  ].join('\n');

const rssTable = (bench: Bench) =>
  [
    '| Process | Port | RSS at rest MB | RSS after scale MB | RSS at end of run MB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...bench.residentSets().map(({ label, port, rss }) => {
      const mb = (moment: string) => {
        const value = rss.get(moment);
        return value === undefined ? '–' : value.toFixed(0);
      };
      return `| ${label} | ${port} | ${mb(AT_REST)} | ${mb(AFTER_SCALE)} | ${mb(END_OF_RUN)} |`;
    }),
  ].join('\n');

const goalsTable = (goals: readonly Goal[]) =>
  [
    '| Target | Measured | Met |',
    '| --- | --- | :---: |',
    ...goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.met ? 'yes' : '**no**'} |`),
  ].join('\n');

/**
 * The hand-written, dated sections below the generated report (before/after comparisons, profiles):
 * a new run replaces the report and keeps them.
 */
async function datedSections(file: URL): Promise<string> {
  const previous = await readFile(file, 'utf8').catch(() => '');
  const start = previous.search(/^## /m);
  return start < 0 ? '' : previous.slice(start);
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`,
    );
  }
  const names = (requested.length > 0 ? requested : Object.keys(SCENARIOS)) as ScenarioName[];
  pinThisProcess();
  process.stderr.write(`bench: ${pinningNote()}\n`);
  const bench = await Bench.create();
  const stage = new Stage(bench);
  const rows: Row[] = [];
  const goals: Goal[] = [];
  const sections: string[] = [];
  try {
    for (const name of names) {
      process.stderr.write(`bench: ${name}…\n`);
      const outcome = await SCENARIOS[name](stage);
      rows.push(...outcome.rows);
      goals.push(...outcome.goals);
      sections.push(...(outcome.sections ?? []));
      if (name === 'scale') {
        bench.recordRss(AFTER_SCALE);
      }
      if (outcome.rows.length > 0) {
        process.stderr.write(`${rowsTable(outcome.rows)}\n\n`);
      }
      for (const section of outcome.sections ?? []) {
        process.stderr.write(`${section}\n\n`);
      }
    }
    bench.recordRss(END_OF_RUN);
  } finally {
    await bench.stop();
  }
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const report = [
    `Node ${process.version}, ${MACHINE_CPUS} CPUs (${cpu}), PostgreSQL at ${bench.host}; ${new Date().toISOString().slice(0, 10)}.`,
    `Load from separate processes: autocannon, ${CONNECTIONS} connections unless the target says otherwise, ${WARM_UP_SECONDS} s warm-up, median of ${RUNS} runs of ${SECONDS} s, the targets of a scenario measured in alternation. "Full load": ${CONNECTIONS} connections, as fast as the app answers, which saturates it (the load generator is not the bottleneck for notes-api's public route).`,
    pinningNote(),
    `Two ratios per row, both against routes measured in the same alternation as the row, each the median of the round-by-round ratios (a round's windows are seconds apart, so a drift in the machine's speed cancels out of each): × baseline against the baseline of its scenario (its own app's public route; refresh: against auth-api), × notes-api public against notes-api's \`GET /health\`, the Fastify ceiling of this codebase, with the scenario's request headers. "–": no throughput at full load to compare (refresh chains, latency at a fixed rate, propagation delays, registration bursts, admin pages on one connection). Server CPU µs/req: the user + system CPU time the target's server process spent per request during its runs (median), from /proc: the app's own cost apart from the load generator's; it still moves with the machine's speed, so compare it within a run ("–": a process this run did not start).`,
    '',
    ...(rows.length > 0 ? [rowsTable(rows), ''] : []),
    ...(goals.length > 0 ? [goalsTable(goals), ''] : []),
    `Resident set size (VmRSS) of each process the run started: at rest (started, ${WARM_UP_REQUESTS} requests to its public route, before any load), after the scale scenario (1 000 000 sessions) and at the end of the run; "–" where the process had not started yet or the scenario did not run.`,
    '',
    rssTable(bench),
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
  process.stdout.write(`\n${report}`);
  if (requested.length === 0) {
    const file = new URL('../BENCHMARKS.md', import.meta.url);
    await writeFile(
      file,
      [
        '# Benchmarks',
        '',
        'Generated by `npm run bench` (see docs/contributors.md, "Benchmarks", for what each scenario does).',
        '',
        report,
        'Noise: one machine runs the load generators, the apps, the peers and PostgreSQL (see the',
        'pinning line above), so absolute numbers are lower than on separate machines and move by',
        'several percent between runs; compare ratios within one run, not req/s across machines.',
        '',
        await datedSections(file),
      ].join('\n'),
    );
  }
}

await main();
