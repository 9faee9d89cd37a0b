import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';

/** Set in the environment of a process that runs inside the suite's network namespace. */
export const IN_NETNS = 'REELFLOW_CHAOS_NETNS';

/**
 * The `unshare` flags that give this machine a network namespace of its own (with a user namespace when allowed,
 * so root is not needed), or undefined when neither works here (not Linux, no util-linux, no rights).
 */
function unshareFlags(): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const ipUp = ['sh', '-c', 'ip link set lo up'];
  for (const flags of [['--user', '--map-root-user', '--net'], ['--net']]) {
    const probe = spawnSync('unshare', [...flags, '--', ...ipUp], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) return flags;
  }
  return undefined;
}

/** Whether this process's only network interface is loopback. */
export function onlyLoopback(): boolean {
  const interfaces = os.networkInterfaces();
  return Object.entries(interfaces).every(([, addrs]) => (addrs ?? []).every((a) => a.internal));
}

/**
 * Runs this very command again inside a new network namespace whose only interface is loopback (brought up first),
 * so nothing the suite or a process it starts does can send a packet off this machine, even through a guard that
 * fails. Resolves with the child's exit code, or undefined when no namespace can be made here (the caller then runs
 * in place and leaves out the cases that would leave loopback). Signals are passed on to the child.
 */
export async function reexecInNetns(argv: string[]): Promise<number | undefined> {
  const flags = unshareFlags();
  if (!flags) return undefined;
  const child = spawn(
    'unshare',
    [...flags, '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.execArgv, ...argv],
    { stdio: 'inherit', env: { ...process.env, [IN_NETNS]: '1' } }
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1)));
  });
}
