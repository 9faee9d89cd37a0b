import { bundleWorkflowCode } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type ReelflowConfig } from '../config';
import { findTemporalCli, freePort, temporalAnswers, temporalDevServerArgs } from './temporal-server';
import { httpReady, ProcessGroup, until, type ManagedProcess, type ProcessExit, type ProcessSpec } from './processes';
import { WORKER_NODE_OPTIONS } from '../workers/heap';

const ROOT = path.resolve(__dirname, '..');

/** What a real-process stack is started with. */
export interface ProcessStackOptions {
  /** The run's folder: `logs/` (one file per process), `data/` (REELFLOW_DATA_DIR), the dev server's SQLite file. */
  outDir: string;
  /** Worker processes, each serving every queue (default 2). */
  workers?: number;
  /** reelflow settings of the server, the workers and CLI runs (on top of the stack's own). */
  env?: Record<string, string>;
  /** The emulator's settings (`LUMA_EMULATOR_*`, docs/emulator.md). */
  emulatorEnv?: Record<string, string>;
  /** Called when a process of the stack dies without being told to. */
  onUnexpectedExit?: (exit: ProcessExit) => void;
  /** Stop the stack when this process gets SIGINT/SIGTERM/SIGHUP (default true; see ProcessGroup.installCleanup). */
  stopOnSignals?: boolean;
}

/**
 * A running stack of real processes: Temporal dev server, the emulator's Luma and fal faces, HTTP server and worker
 * processes.
 */
export interface ProcessStack {
  group: ProcessGroup;
  /** The environment every reelflow process of the stack runs with. */
  env: Record<string, string>;
  /** The same settings as a config, for an in-process client. */
  config: ReelflowConfig;
  dirs: {
    out: string;
    logs: string;
    data: string;
    /** TMPDIR of every reelflow process (server, workers, CLI runs). */
    tmp: string;
    /** Working directory of every reelflow process: a relative path written by mistake lands here. */
    cwd: string;
  };
  temporalAddress: string;
  apiUrl: string;
  emulatorOrigin: string;
  lumaKey: string;
  /** The emulator's fal face (its own process) and the key the workers use there. */
  falOrigin: string;
  falKey: string;
  workerNames: string[];
  /**
   * Starts (or starts again) a worker process and waits until all its task queues poll; `env` adds settings for this
   * worker alone (e.g. other concurrency limits for one of them).
   */
  startWorker(name: string, env?: Record<string, string>): Promise<ManagedProcess>;
  /** Stops the Temporal dev server (SIGTERM), waits `downMs`, and starts it again on the same port and file. */
  restartTemporal(downMs: number): Promise<void>;
  /** How to run another reelflow entry point (e.g. `server/main.ts`) as a process of this stack. */
  nodeCommand(script: string, args: string[], env?: Record<string, string>): Omit<ProcessSpec, 'name'>;
  /**
   * Runs the `reelflow` command (`bin/reelflow.cjs`) once with the stack's settings, SIGKILLed after `timeoutMs`;
   * its output is appended to `logs/cli.log`.
   */
  runCli(args: string[], timeoutMs?: number): Promise<CliRun>;
  /** Stops everything, workers first. */
  stop(): Promise<void>;
}

/** One run of the `reelflow` command. */
export interface CliRun {
  /** Exit code; null when it was killed at its time limit. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node --import tsx <script>` from any working directory: the loader is resolved from this repository. */
function nodeArgs(script: string, args: string[]): string[] {
  return ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(ROOT, script), ...args];
}

/** How many Worker instances a worker process with every role runs: workflows, io, poll, media. */
const QUEUES_PER_WORKER = 4;

/**
 * Starts the whole stack as separate processes on free loopback ports, each with its own log under
 * `<outDir>/logs/`: the Temporal dev server persisted to `<outDir>/temporal.sqlite`, the emulator
 * (`emulator/cli.ts`), the HTTP server (`server/main.ts`) and `workers` worker processes (`workers/main.ts`) sharing
 * one prebuilt workflow bundle. On a failure to start, whatever started is stopped again.
 */
export async function startProcessStack(options: ProcessStackOptions): Promise<ProcessStack> {
  const out = path.resolve(options.outDir);
  const dirs = {
    out,
    logs: path.join(out, 'logs'),
    data: path.join(out, 'data'),
    tmp: path.join(out, 'tmp'),
    cwd: path.join(out, 'cwd'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const auxTmp = path.join(out, 'tmp-aux');
  mkdirSync(auxTmp, { recursive: true });
  const group = new ProcessGroup({ logDir: dirs.logs, onUnexpectedExit: options.onUnexpectedExit });
  if (options.stopOnSignals !== false) group.installCleanup();
  try {
    const [temporalPort, emulatorPort, falPort, httpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const temporalCli = findTemporalCli(process.env.TEMPORAL_CLI_PATH || undefined);
    const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? out, LANG: 'C.UTF-8' };
    const temporalSpec: ProcessSpec = {
      name: 'temporal',
      command: temporalCli,
      args: temporalDevServerArgs({
        port: temporalPort,
        headless: true,
        dbFile: path.join(out, 'temporal.sqlite'),
      }),
      env: { ...baseEnv, TMPDIR: auxTmp },
      cwd: out,
      ready: (_proc, signal) => until(() => temporalAnswers(temporalAddress), signal, 250),
      readyTimeoutMs: 60_000,
    };

    const lumaKey = 'chaos-luma-key';
    const emulatorOrigin = `http://127.0.0.1:${emulatorPort}`;
    const falKey = 'chaos-fal-key';
    const falOrigin = `http://127.0.0.1:${falPort}`;
    const bundlePath = path.join(out, 'workflow-bundle.js');
    await Promise.all([
      group.start(temporalSpec),
      group.start({
        name: 'emulator',
        command: process.execPath,
        args: nodeArgs('emulator/cli.ts', ['--port', String(emulatorPort)]),
        env: {
          ...baseEnv,
          TMPDIR: auxTmp,
          LUMA_EMULATOR_KEYS: lumaKey,
          LUMA_EMULATOR_DATA_DIR: path.join(out, 'emulator'),
          ...options.emulatorEnv,
        },
        cwd: out,
        ready: httpReady(`${emulatorOrigin}/__emulator/faults`),
      }),
      group.start({
        name: 'emulator-fal',
        command: process.execPath,
        args: nodeArgs('emulator/cli.ts', ['--face', 'fal', '--port', String(falPort)]),
        env: {
          ...baseEnv,
          TMPDIR: auxTmp,
          FAL_EMULATOR_KEYS: falKey,
          FAL_EMULATOR_DATA_DIR: path.join(out, 'emulator-fal'),
        },
        cwd: out,
        ready: httpReady(`${falOrigin}/__emulator/faults`),
      }),
      // Every worker start loads this one bundle instead of bundling workflows/ itself (seconds each on 2 cores).
      bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundleLogger }).then((b) =>
        writeFileSync(bundlePath, b.code)
      ),
    ]);

    const env: Record<string, string> = {
      ...baseEnv,
      TMPDIR: dirs.tmp,
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'),
      TEMPORAL_ADDRESS: temporalAddress,
      LUMAAI_API_KEY: lumaKey,
      LUMAAI_BASE_URL: `${emulatorOrigin}/dream-machine/v1`,
      FAL_KEY: falKey,
      FAL_BASE_URL: falOrigin,
      REELFLOW_DATA_DIR: dirs.data,
      REELFLOW_HTTP_HOST: '127.0.0.1',
      REELFLOW_HTTP_PORT: String(httpPort),
      REELFLOW_WORKFLOW_BUNDLE: bundlePath,
      ...options.env,
    };
    const config = loadConfig(env);
    const apiUrl = config.http.publicUrl;
    const nodeCommand = (script: string, args: string[], extra: Record<string, string> = {}) => ({
      command: process.execPath,
      args: nodeArgs(script, args),
      env: { ...env, ...extra },
      cwd: dirs.cwd,
    });

    const workerNames = Array.from({ length: options.workers ?? 2 }, (_, i) => `worker-${i + 1}`);
    const startWorker = (name: string, workerEnv: Record<string, string> = {}) =>
      group.start({
        name,
        ...nodeCommand('workers/main.ts', [], { NODE_OPTIONS: WORKER_NODE_OPTIONS, ...workerEnv }),
        // Each of the process's Worker instances logs this once it polls its task queue.
        ready: async (proc) =>
          void (await proc.waitForLine(/"Worker state changed".*"state":"RUNNING"/, QUEUES_PER_WORKER)),
        readyTimeoutMs: 90_000,
      });
    await Promise.all([
      group.start({ name: 'server', ...nodeCommand('server/main.ts', []), ready: httpReady(`${apiUrl}/healthz`) }),
      ...workerNames.map((name) => startWorker(name)),
    ]);

    return {
      group,
      env,
      config,
      dirs,
      temporalAddress,
      apiUrl,
      emulatorOrigin,
      lumaKey,
      falOrigin,
      falKey,
      workerNames,
      startWorker,
      async restartTemporal(downMs: number) {
        await group.stop('temporal');
        await new Promise((resolve) => setTimeout(resolve, downMs));
        await group.start(temporalSpec);
      },
      nodeCommand,
      runCli(args: string[], timeoutMs = 60_000) {
        return new Promise<CliRun>((resolve) => {
          execFile(
            process.execPath,
            [path.join(ROOT, 'bin/reelflow.cjs'), ...args],
            { env, cwd: dirs.cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => {
              const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
              appendFileSync(
                path.join(dirs.logs, 'cli.log'),
                `--- ${new Date().toISOString()} reelflow ${args.map((a) => JSON.stringify(a.slice(0, 200))).join(' ')}` +
                  ` → ${code}\n${stdout}${stderr}`
              );
              resolve({ code, stdout, stderr });
            }
          );
        });
      },
      async stop() {
        // Workers first, so they do not log a storm of connection errors while the server goes.
        await Promise.all(workerNames.map((name) => group.stop(name)));
        await group.stopAll();
      },
    };
  } catch (err) {
    await group.stopAll();
    throw err;
  }
}

const noop = () => undefined;
const quietBundleLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
