import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';

/** Set in the environment of a process that runs inside the suite's network namespace. */
export const IN_NETNS = 'REELFLOW_CHAOS_NETNS';

/**
 * A public address (no private, reserved or local range: the SSRF guard lets it through) put on the namespace's
 * loopback interface, so R4 can serve hostile answers from a "public" host while every packet stays on loopback.
 */
export const PUBLIC_ALIAS = '11.0.0.1';

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

/** Whether this process's only network interface is loopback (the public alias on it included). */
export function onlyLoopback(): boolean {
  const interfaces = os.networkInterfaces();
  return Object.entries(interfaces).every(([name, addrs]) => name === 'lo' && (addrs ?? []).length > 0);
}

/** Whether the public alias is on this namespace's loopback interface. */
export function hasPublicAlias(): boolean {
  return (os.networkInterfaces().lo ?? []).some((a) => a.address === PUBLIC_ALIAS);
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
    [
      ...flags,
      '--',
      'sh',
      '-c',
      `ip link set lo up && ip addr add ${PUBLIC_ALIAS}/32 dev lo && exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      ...argv,
    ],
    { stdio: 'inherit', env: { ...process.env, [IN_NETNS]: '1' } }
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1)));
  });
}
