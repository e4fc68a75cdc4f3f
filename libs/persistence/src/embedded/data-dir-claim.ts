import { readFileSync, rmSync } from 'node:fs';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

/**
 * `DATA_DIR/running.json` (mode 0600) exists while a process runs the embedded PostgreSQL of that
 * directory: who runs it and, once it accepts connections, its URL, so operator scripts can use the
 * running database instead of failing on PostgreSQL's lock file. Removed when that process stops.
 */
const FILE = 'running.json';

export interface DataDirHolder {
  readonly pid: number;
  /** What runs it: `npm start`, an app started on its own, an operator script. */
  readonly owner: string;
  /** Connection URL of the `gatehouse` database; absent while PostgreSQL is still starting. */
  readonly url?: string;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly directory: string,
    readonly holder: DataDirHolder,
  ) {
    super(
      `another Gatehouse is already running on DATA_DIR ${directory} (pid ${holder.pid}, ${holder.owner})`,
    );
    this.name = 'DataDirInUseError';
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), timeout: 1000 });
    const answer = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => answer(true));
    socket.once('error', () => answer(false));
    socket.once('timeout', () => answer(false));
  });
}

/**
 * The live holder of `directory`, if any. A file left by a killed process (its pid is gone, or its
 * PostgreSQL no longer listens) does not count.
 */
export async function findDataDirHolder(directory: string): Promise<DataDirHolder | undefined> {
  let holder: DataDirHolder;
  try {
    holder = JSON.parse(await readFile(join(directory, FILE), 'utf8')) as DataDirHolder;
  } catch {
    return undefined;
  }
  if (!isAlive(holder.pid) || (holder.url !== undefined && !(await accepts(holder.url)))) {
    return undefined;
  }
  return holder;
}

export class DataDirClaim {
  private constructor(
    private readonly file: string,
    private readonly holder: DataDirHolder,
  ) {
    process.once('exit', this.releaseNow);
  }

  /** Takes `directory` for this process, atomically (link fails if the file exists). */
  static async take(directory: string, owner: string): Promise<DataDirClaim> {
    const file = join(directory, FILE);
    const holder: DataDirHolder = { pid: process.pid, owner };
    const draft = `${file}.${process.pid}`;
    await writeFile(draft, JSON.stringify(holder), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        try {
          await link(draft, file);
          return new DataDirClaim(file, holder);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
            throw error;
          }
          const current = await findDataDirHolder(directory);
          if (current) {
            throw new DataDirInUseError(directory, current);
          }
          await rm(file, { force: true });
        }
      }
      throw new Error(`${file} keeps reappearing: is another Gatehouse starting on DATA_DIR?`);
    } finally {
      await rm(draft, { force: true });
    }
  }

  /** Tells other processes how to reach the database, once it accepts connections. */
  async publish(url: string): Promise<void> {
    const draft = `${this.file}.${process.pid}`;
    await writeFile(draft, JSON.stringify({ ...this.holder, url }), { mode: 0o600 });
    await rename(draft, this.file);
  }

  release(): void {
    process.removeListener('exit', this.releaseNow);
    this.releaseNow();
  }

  /** Synchronous, so it also runs in an 'exit' listener; removes the file only while it is ours. */
  private readonly releaseNow = (): void => {
    try {
      const current = JSON.parse(readFileSync(this.file, 'utf8')) as DataDirHolder;
      if (current.pid === this.holder.pid) {
        rmSync(this.file, { force: true });
      }
    } catch {
      // Already gone.
    }
  };
}
