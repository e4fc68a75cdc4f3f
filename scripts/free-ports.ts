import { createServer } from 'node:net';

export interface AppPort {
  /** The variable that sets it, so the message says what to change. */
  readonly variable: string;
  readonly port: number;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Why the apps could not listen where they are told to, checked before anything starts: a port that
 * is taken (another Gatehouse, another program) or given twice. Empty when all is well.
 */
export async function portProblems(host: string, ports: readonly AppPort[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [index, { variable, port }] of ports.entries()) {
    const earlier = ports.slice(0, index).find((other) => other.port === port);
    if (earlier) {
      problems.push(`${variable} is ${port}, the same port as ${earlier.variable}`);
      continue;
    }
    const error = await tryListen(host, port);
    if (error?.code === 'EADDRINUSE') {
      problems.push(
        `port ${port} (${variable}) is already in use on ${host}: stop what listens there, or set ${variable} to a free port`,
      );
    } else if (error) {
      problems.push(`cannot listen on ${host}:${port} (${variable}): ${error.message}`);
    }
  }
  return problems;
}
