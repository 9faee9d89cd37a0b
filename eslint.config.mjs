import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

// Where code runs decides what it may import (README, "Where each folder runs"). Each zone: files under `target`
// may not import from the folders in `from`.
const RUNTIME_FOLDERS = [
  'common',
  'config',
  'assets',
  'inputs',
  'workflows',
  'activities',
  'providers',
  'workers',
  'client',
  'server',
  'cli',
  'dev',
  'emulator',
];
const mayNotImport = {
  common: {
    from: RUNTIME_FOLDERS.filter((f) => f !== 'common'),
    why: 'common/ is pure contracts shared by every process',
  },
  config: {
    from: [
      'assets',
      'inputs',
      'workflows',
      'activities',
      'providers',
      'workers',
      'client',
      'server',
      'cli',
      'dev',
      'emulator',
    ],
    why: 'config/ is read by every process and depends on common/ alone',
  },
  assets: {
    from: RUNTIME_FOLDERS.filter((f) => f !== 'common' && f !== 'assets'),
    why: 'assets/ (the asset store and its URL signatures) gets its settings passed in and depends on common/ alone',
  },
  inputs: {
    from: RUNTIME_FOLDERS.filter((f) => f !== 'common' && f !== 'inputs'),
    why: 'inputs/ (checks of supplied inputs, shared by client/ and activities/) depends on common/ alone',
  },
  workflows: {
    from: ['config', 'assets', 'inputs', 'providers', 'workers', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'workflows/ run in the deterministic sandbox; they see activities as types only',
  },
  activities: {
    from: ['workflows', 'config', 'workers', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'activities/ get everything they need as dependencies (createActivities); contracts are in common/',
  },
  providers: {
    from: RUNTIME_FOLDERS.filter((f) => f !== 'common' && f !== 'providers'),
    why: 'providers/ (one module per provider API, behind one interface) get their settings passed in and depend on common/ alone',
  },
  workers: {
    from: ['inputs', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'workers/ run workflows and activities and nothing else',
  },
  client: {
    from: ['assets', 'activities', 'providers', 'workers', 'server', 'cli', 'dev', 'emulator'],
    why: 'client/ is the library a backend imports: Temporal messages and contracts only',
  },
  server: {
    from: ['inputs', 'workflows', 'activities', 'providers', 'workers', 'cli', 'dev', 'emulator'],
    why: 'server/ talks to stories through client/ and serves files through assets/',
  },
  cli: {
    from: ['assets', 'inputs', 'workflows', 'activities', 'providers', 'workers', 'server', 'dev', 'emulator'],
    why: 'cli/ talks to stories through client/',
  },
  emulator: {
    from: [
      'config',
      'assets',
      'inputs',
      'workflows',
      'activities',
      'providers',
      'workers',
      'client',
      'server',
      'cli',
      'dev',
    ],
    why: 'emulator/ is the provider stand-in, its own small world',
  },
  bench: { from: ['emulator'], why: 'only dev/ (and tests) may start the emulator' },
  chaos: {
    from: ['workflows', 'activities', 'workers'],
    why: 'chaos/ drives the stack from outside: its processes, the client library, the HTTP API and the CLI',
  },
};
const boundaryZones = [
  ...Object.entries(mayNotImport).flatMap(([target, { from, why }]) =>
    from.map((f) => ({ target: `./${target}`, from: `./${f}`, message: `${target}/ may not import ${f}/: ${why}.` }))
  ),
  // Nothing the product or its tools run may depend on the suite.
  ...[...RUNTIME_FOLDERS, 'bench'].map((target) => ({
    target: `./${target}`,
    from: './chaos',
    message: `${target}/ may not import chaos/: the chaos suite is a tool that drives the product, not part of it.`,
  })),
];

const PROVIDER_SDK_MESSAGE =
  'Provider SDKs live in providers/ (one module per provider); use the VideoProvider interface.';
/** The SDKs only providers/ (and the emulator) may import. */
const PROVIDER_SDK_BAN = {
  paths: ['lumaai', '@fal-ai/client'].map((name) => ({ name, message: PROVIDER_SDK_MESSAGE })),
  patterns: [{ group: ['lumaai/*', '@fal-ai/client/*'], message: PROVIDER_SDK_MESSAGE }],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.reelflow/**',
      'out/**',
      'test-artifacts/**',
      'chaos/results/**',
      'server/review-page/dist/**',
      'bin/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        process: 'readonly',
        module: 'writable',
        require: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js', '.cjs'] } } },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: boundaryZones }],
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A provider's SDK, and every type it names, stays in its module in providers/ (and the emulator's face of it):
    // the rest of reelflow sees the one provider interface.
    files: [
      'activities/**/*.ts',
      'assets/**/*.ts',
      'bench/**/*.ts',
      'cli/**/*.ts',
      'client/**/*.ts',
      'config/**/*.ts',
      'dev/**/*.ts',
      'inputs/**/*.ts',
      'server/**/*.ts',
      'workers/**/*.ts',
    ],
    // The P3 baseline is the brief's naive script (the SDK and a semaphore, no gate): what reelflow is measured
    // against, not part of it.
    ignores: ['bench/semaphore-baseline.ts'],
    rules: { 'no-restricted-imports': ['error', PROVIDER_SDK_BAN] },
  },
  {
    // Asset files are touched only by the asset store (assets/): code that handles asset references gets a file into
    // a scratch dir with `assets.get` and stores one with `assets.put`, so it works on any host and either backend.
    // (ffmpeg.ts, images.ts, fetch.ts, scratch.ts and atomic-write.ts work on scratch files only; inputs/ and client/
    // read a story's own files; the review page reads its bundle; the CLI writes `result --out` JSON.)
    files: [
      'activities/media.ts',
      'activities/generations.ts',
      'activities/webhooks.ts',
      'activities/gate.ts',
      'activities/index.ts',
      'workers/**/*.ts',
      'server/**/*.ts',
      'cli/**/*.ts',
      'dev/demo.ts',
    ],
    // Files that read no asset: the review page's bundle, `result --out`, the workflow bundle's tracing check, the
    // package version of the build id, the replay gate's recorded histories.
    ignores: [
      'server/review-page/index.ts',
      'cli/reelflow.ts',
      'workers/create-workers.ts',
      'workers/deployment.ts',
      'workers/deploy/replay-gate.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // This block replaces the provider-SDK block's rule for these files, so it carries that ban too.
          paths: [
            ...['fs', 'fs/promises', 'node:fs', 'node:fs/promises'].map((name) => ({
              name,
              message:
                'Asset files go through the asset store (assets/): get() a stored file into a scratch dir, put() one back.',
            })),
            ...PROVIDER_SDK_BAN.paths,
          ],
          patterns: PROVIDER_SDK_BAN.patterns,
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no side-effecting packages.
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((name) => [
              { name, message: 'Node built-ins are not allowed in deterministic workflow code.' },
              { name: `node:${name}`, message: 'Node built-ins are not allowed in deterministic workflow code.' },
            ]),
            ...[
              'sharp',
              'fluent-ffmpeg',
              'lumaai',
              '@fal-ai/client',
              'fastify',
              '@temporalio/client',
              '@temporalio/worker',
              '@temporalio/activity',
            ].map((name) => ({
              name,
              message: 'Side-effecting packages belong in activities/, not in workflow code.',
            })),
          ],
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not allowed in deterministic workflow code.' },
            {
              group: ['**/activities', '**/activities/*'],
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval', 'Buffer', 'require'],
      // Date is allowed: the sandbox replaces it with the workflow task's deterministic clock.
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or deterministic values in workflows.' },
      ],
    },
  }
);
