import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The refresh-rotation load generator, forked by `npm run bench` as its own process (one per
 * target, kept alive so targets can be measured in alternation). Every chain owns one refresh token
 * and sends `grant_type=refresh_token` with it, waits for the answer and continues with the rotated
 * token it got — never reusing one — so N chains keep N requests in flight. Each `{ seconds }`
 * message from the parent runs one window and is answered with its refreshes/s, p50 and p99 in ms
 * and how many refreshes failed (any is a bug); `{ done: true }` ends it.
 */
interface Chains {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly refreshTokens: readonly string[];
}

const chains = JSON.parse(process.env['CHAINS'] ?? '{}') as Chains;
const endpoint = new URL(chains.tokenEndpoint);
const agent = new Agent({ keepAlive: true, maxSockets: chains.refreshTokens.length });

function refresh(token: string): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: token,
    client_id: chains.clientId,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      endpoint,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

const tokens = [...chains.refreshTokens];

async function window(durationSeconds: number) {
  const latencies: number[] = [];
  let failures = 0;
  const deadline = performance.now() + durationSeconds * 1000;
  await Promise.all(
    tokens.map(async (_, chain) => {
      while (performance.now() < deadline && tokens[chain]) {
        const started = performance.now();
        try {
          const answer = await refresh(tokens[chain]);
          const next = (JSON.parse(answer.body) as { refresh_token?: string }).refresh_token;
          if (answer.status !== 200 || !next) {
            throw new Error(`${answer.status} ${answer.body.slice(0, 200)}`);
          }
          latencies.push(performance.now() - started);
          tokens[chain] = next;
        } catch (error) {
          failures += 1;
          tokens[chain] = '';
          process.stderr.write(`chain ${chain}: ${(error as Error).message}\n`);
        }
      }
    }),
  );
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / durationSeconds,
    p50: Math.round(percentile(sorted, 50)),
    p99: Math.round(percentile(sorted, 99)),
    failures,
  };
}

process.on('message', (message: { seconds?: number; done?: boolean }) => {
  if (message.done) {
    agent.destroy();
    process.disconnect();
    return;
  }
  void window(message.seconds ?? 0).then((result) => process.send?.(result));
});
