import type { DestinationStream } from 'pino';

/** Nest's start-up chatter: one line per module and per route (about a hundred for auth-api). */
const QUIET_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every line has, or that the request line already shows; the rest is printed as JSON. */
const SHOWN = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'app',
  'context',
  'msg',
  'req',
  'res',
  'responseTime',
  'err',
]);

interface LogEntry {
  readonly level?: number;
  readonly time?: number;
  readonly app?: string;
  readonly context?: string;
  readonly msg?: string;
  readonly req?: { readonly method?: string; readonly url?: string };
  readonly res?: { readonly statusCode?: number };
  readonly responseTime?: number;
  readonly err?: { readonly message?: string; readonly stack?: string };
  readonly [field: string]: unknown;
}

function clockOf(time: number | undefined): string {
  return new Date(time ?? Date.now()).toISOString().slice(11, 23);
}

function summaryOf(entry: LogEntry): string {
  if (entry.req && entry.res) {
    const took = entry.responseTime === undefined ? '' : ` ${Math.round(entry.responseTime)} ms`;
    return `${entry.req.method ?? '?'} ${entry.req.url ?? '?'} ${entry.res.statusCode ?? '?'}${took}`;
  }
  const context = entry.context ? `[${entry.context}] ` : '';
  const extra = Object.entries(entry).filter(([field]) => !SHOWN.has(field));
  const fields = extra.length > 0 ? ` ${JSON.stringify(Object.fromEntries(extra))}` : '';
  return `${context}${entry.msg ?? ''}${fields}`;
}

/** One log entry as a line (plus the stack of an error), or null when it is start-up chatter. */
export function formatLogLine(json: string): string | null {
  let entry: LogEntry;
  try {
    entry = JSON.parse(json) as LogEntry;
  } catch {
    return json;
  }
  const level = entry.level ?? 30;
  if (level <= 30 && entry.context !== undefined && QUIET_CONTEXTS.has(entry.context)) {
    return null;
  }
  const tag = level === 30 ? '' : `${LEVELS[level] ?? level} `;
  const stack = level >= 50 && entry.err?.stack ? `\n${entry.err.stack}` : '';
  return `${clockOf(entry.time)} ${entry.app ?? ''} ${tag}${summaryOf(entry)}${stack}`;
}

/**
 * A pino destination for development: each JSON entry becomes one readable line
 * (`12:00:01.234 auth-api GET /me 200 3 ms`), and Nest's module and route map is left out. It reads
 * the entries pino has already serialized, so redaction applies exactly as in the JSON logs.
 */
export function prettyLogStream(out: DestinationStream): DestinationStream {
  return {
    write(chunk: string): void {
      for (const json of chunk.split('\n')) {
        const line = json && formatLogLine(json);
        if (line) {
          out.write(`${line}\n`);
        }
      }
    },
  };
}
