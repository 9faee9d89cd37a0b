import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How to run one named process of a stack. */
export interface ProcessSpec {
  /** Unique within its group; names the log file (`<logDir>/<name>.log`) and is how callers stop or kill it. */
  name: string;
  command: string;
  args: string[];
  /** The whole environment of the process (not merged with this one's). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves once the process serves; `signal` aborts when it timed out (`readyTimeoutMs`) or the process died. */
  ready?: (proc: ManagedProcess, signal: AbortSignal) => Promise<void>;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Signal of a graceful stop (default SIGTERM); SIGKILL follows after `stopTimeoutMs` (default 15 s). */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** A process meant to end by itself (a CLI run, a start that must be refused): its exit is no crash. */
  endsByItself?: boolean;
}

/** How a process ended, and whether the group asked it to. */
export interface ProcessExit {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  at: string;
  /** False when the process died without the group stopping or killing it: a crash. */
  expected: boolean;
}

/** One running (or ended) start of a named process. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** How many times this name has been started in the group (1 for the first start). */
  readonly start: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Output lines so far of this start (stdout and stderr), the last 2000. */
  readonly lines: string[];
  /** True until the process exits. */
  running(): boolean;
  /** Resolves on the first output line matching `pattern`, or the `count`-th (lines already seen count). */
  waitForLine(pattern: RegExp, count?: number): Promise<string>;
}

const KEPT_LINES = 2000;

/**
 * A set of named child processes with a log file each: start (waiting until ready), stop, kill, restart, and a
 * record of every exit, so a caller can tell a crash from a kill it ordered. Each child leads its own process group,
 * so stopping or killing it takes its children (ffmpeg, a CLI's server) along; `installCleanup` makes sure nothing
 * outlives the caller, also when it is interrupted or fails.
 */
export class ProcessGroup {
  private readonly specs = new Map<string, ProcessSpec>();
  private readonly current = new Map<string, ManagedProcess>();
  private readonly starts = new Map<string, number>();
  private readonly expecting = new Set<ManagedProcess>();
  private readonly exitLog: ProcessExit[] = [];
  private readonly logs = new Map<string, WriteStream>();
  private cleanupInstalled = false;
  private exitGuard?: () => void;

  constructor(
    private readonly options: {
      logDir: string;
      /** Called when a process exits without being asked to. */
      onUnexpectedExit?: (exit: ProcessExit) => void;
    }
  ) {
    mkdirSync(options.logDir, { recursive: true });
  }

  /** The log file of a process name. */
  logFile(name: string): string {
    return path.join(this.options.logDir, `${name}.log`);
  }

  /** Starts a process and waits until it is ready; a name already running is refused. */
  async start(spec: ProcessSpec): Promise<ManagedProcess> {
    if (this.current.get(spec.name)?.running()) throw new Error(`process ${spec.name} is already running`);
    this.specs.set(spec.name, spec);
    const start = (this.starts.get(spec.name) ?? 0) + 1;
    this.starts.set(spec.name, start);
    const log = this.log(spec.name);
    log.write(`\n--- ${new Date().toISOString()} start #${start}: ${spec.command} ${spec.args.join(' ')}\n`);

    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const lines: string[] = [];
    const waiters: Array<{ pattern: RegExp; needed: number; got: number; resolve: (line: string) => void }> = [];
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      for (const w of [...waiters]) {
        if (!w.pattern.test(line) || ++w.got < w.needed) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        log.write(chunk);
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        parts.forEach(onLine);
      });
      stream.on('end', () => rest && onLine(rest));
    }

    let isRunning = true;
    const exited = new Promise<ProcessExit>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (!isRunning) return;
        isRunning = false;
        const exit: ProcessExit = {
          name: spec.name,
          pid: child.pid ?? -1,
          code,
          signal,
          at: new Date().toISOString(),
          expected: this.expecting.has(proc) || spec.endsByItself === true,
        };
        this.expecting.delete(proc);
        this.exitLog.push(exit);
        log.write(`--- ${exit.at} exit: code ${code} signal ${signal}${exit.expected ? '' : ' (unexpected)'}\n`);
        if (!exit.expected) this.options.onUnexpectedExit?.(exit);
        resolve(exit);
      };
      child.once('exit', finish);
      child.once('error', (err) => {
        log.write(`--- spawn error: ${err.message}\n`);
        finish(null, null);
      });
    });

    const proc: ManagedProcess = {
      name: spec.name,
      pid: child.pid ?? -1,
      child,
      start,
      exited,
      lines,
      running: () => isRunning,
      waitForLine: (pattern, count = 1) => {
        const matching = lines.filter((l) => pattern.test(l));
        if (matching.length >= count) return Promise.resolve(matching[count - 1]);
        return new Promise((resolve) => waiters.push({ pattern, needed: count, got: matching.length, resolve }));
      },
    };
    this.current.set(spec.name, proc);
    this.installExitGuard();

    if (spec.ready) {
      const timeoutMs = spec.readyTimeoutMs ?? 60_000;
      const giveUp = new AbortController();
      const timer = setTimeout(
        () =>
          giveUp.abort(
            new Error(`${spec.name} was not ready within ${timeoutMs} ms (log: ${this.logFile(spec.name)})`)
          ),
        timeoutMs
      );
      void exited.then((exit) =>
        giveUp.abort(
          new Error(
            `${spec.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready ` +
              `(log: ${this.logFile(spec.name)}): ${lines.slice(-5).join(' | ')}`
          )
        )
      );
      const abandoned = new Promise<never>((_, reject) =>
        giveUp.signal.addEventListener('abort', () => reject(giveUp.signal.reason as Error), { once: true })
      );
      try {
        await Promise.race([spec.ready(proc, giveUp.signal), abandoned]);
      } catch (err) {
        await this.kill(spec.name);
        throw err;
      } finally {
        clearTimeout(timer);
        if (!giveUp.signal.aborted) giveUp.abort(new Error('ready'));
      }
    }
    return proc;
  }

  /** The current start of a name, if it was ever started. */
  get(name: string): ManagedProcess | undefined {
    return this.current.get(name);
  }

  /** Whether the named process runs now. */
  isRunning(name: string): boolean {
    return this.current.get(name)?.running() ?? false;
  }

  /** Names of the processes that run now. */
  running(): string[] {
    return [...this.current.values()].filter((p) => p.running()).map((p) => p.name);
  }

  /** Stops a process gracefully (its stop signal), then SIGKILL after its stop timeout; resolves once it is gone. */
  async stop(name: string): Promise<ProcessExit | undefined> {
    const proc = this.current.get(name);
    if (!proc?.running()) return undefined;
    const spec = this.specs.get(name)!;
    this.expecting.add(proc);
    signalGroup(proc, spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => signalGroup(proc, 'SIGKILL'), spec.stopTimeoutMs ?? 15_000);
    try {
      return await proc.exited;
    } finally {
      clearTimeout(timer);
      // Whatever the leader left behind in its group goes too.
      signalGroup(proc, 'SIGKILL');
    }
  }

  /** SIGKILLs a process and its children at once (a crash on purpose); resolves once it is gone. */
  async kill(name: string): Promise<ProcessExit | undefined> {
    const proc = this.current.get(name);
    if (!proc?.running()) return undefined;
    this.expecting.add(proc);
    signalGroup(proc, 'SIGKILL');
    return proc.exited;
  }

  /** Starts a name again with its last spec (stopping it first if it runs), optionally with a changed spec. */
  async restart(name: string, change: Partial<Omit<ProcessSpec, 'name'>> = {}): Promise<ManagedProcess> {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`process ${name} was never started`);
    await this.stop(name);
    return this.start({ ...spec, ...change, name });
  }

  /** Every exit so far, in order. */
  exits(): ProcessExit[] {
    return [...this.exitLog];
  }

  /** Exits no one asked for: crashes. */
  unexpectedExits(): ProcessExit[] {
    return this.exitLog.filter((e) => !e.expected);
  }

  /** Stops every running process, the last started first, each gracefully then forcibly; closes the logs. */
  async stopAll(): Promise<void> {
    const names = [...this.current.values()].filter((p) => p.running()).map((p) => p.name);
    for (const name of names.reverse()) await this.stop(name).catch(() => undefined);
    for (const log of this.logs.values()) log.end();
    this.logs.clear();
  }

  /** SIGKILLs everything at once, synchronously (for process exit handlers). */
  killAllNow(): void {
    for (const proc of this.current.values()) {
      if (!proc.running()) continue;
      this.expecting.add(proc);
      signalGroup(proc, 'SIGKILL');
    }
  }

  /**
   * Makes sure no child outlives this process: SIGINT, SIGTERM and SIGHUP stop the group and exit (130/143/129);
   * any exit of this process SIGKILLs what still runs. Call once, from an entry point.
   */
  installCleanup(onSignal?: (signal: NodeJS.Signals) => void): void {
    if (this.cleanupInstalled) return;
    this.cleanupInstalled = true;
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    let stopping = false;
    for (const signal of Object.keys(codes) as NodeJS.Signals[]) {
      process.on(signal, () => {
        if (stopping) return;
        stopping = true;
        onSignal?.(signal);
        const force = setTimeout(() => {
          this.killAllNow();
          process.exit(codes[signal]);
        }, 20_000);
        void this.stopAll().finally(() => {
          clearTimeout(force);
          process.exit(codes[signal]);
        });
      });
    }
  }

  private installExitGuard(): void {
    if (this.exitGuard) return;
    this.exitGuard = () => this.killAllNow();
    process.once('exit', this.exitGuard);
  }

  private log(name: string): WriteStream {
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(this.logFile(name), { flags: 'a' });
      this.logs.set(name, log);
    }
    return log;
  }
}

function signalGroup(proc: ManagedProcess, signal: NodeJS.Signals): void {
  if (!proc.running() || proc.pid <= 0) return;
  try {
    // Negative pid: the whole process group the child leads (it was spawned detached).
    process.kill(-proc.pid, signal);
  } catch {
    try {
      proc.child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Polls `probe` every `intervalMs` until it resolves true (errors count as not yet) or `signal` aborts. */
export async function until(probe: () => Promise<boolean>, signal: AbortSignal, intervalMs = 200): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    if (await probe().catch(() => false)) return;
    await sleep(intervalMs, undefined, { signal });
  }
}

/** A readiness check: an HTTP GET of `url` answers 2xx. */
export function httpReady(url: string): (proc: ManagedProcess, signal: AbortSignal) => Promise<void> {
  return (_proc, signal) =>
    until(async () => {
      const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
      await response.arrayBuffer();
      return response.ok;
    }, signal);
}
