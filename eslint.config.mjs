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
    from: ['assets', 'inputs', 'workflows', 'activities', 'workers', 'client', 'server', 'cli', 'dev', 'emulator'],
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
    from: ['config', 'assets', 'inputs', 'workers', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'workflows/ run in the deterministic sandbox; they see activities as types only',
  },
  activities: {
    from: ['workflows', 'config', 'workers', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'activities/ get everything they need as dependencies (createActivities); contracts are in common/',
  },
  workers: {
    from: ['inputs', 'client', 'server', 'cli', 'dev', 'emulator'],
    why: 'workers/ run workflows and activities and nothing else',
  },
  client: {
    from: ['assets', 'activities', 'workers', 'server', 'cli', 'dev', 'emulator'],
    why: 'client/ is the library a backend imports: Temporal messages and contracts only',
  },
  server: {
    from: ['inputs', 'workflows', 'activities', 'workers', 'cli', 'dev', 'emulator'],
    why: 'server/ talks to stories through client/ and serves files through assets/',
  },
  cli: {
    from: ['assets', 'inputs', 'workflows', 'activities', 'workers', 'server', 'dev', 'emulator'],
    why: 'cli/ talks to stories through client/',
  },
  emulator: {
    from: ['config', 'assets', 'inputs', 'workflows', 'activities', 'workers', 'client', 'server', 'cli', 'dev'],
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
    // Asset files are touched only by the asset store (assets/): code that handles asset references gets a file into
    // a scratch dir with `assets.get` and stores one with `assets.put`, so it works on any host and either backend.
    // (ffmpeg.ts, images.ts, fetch.ts, scratch.ts and atomic-write.ts work on scratch files only; inputs/ and client/
    // read a story's own files; the review page reads its bundle; the CLI writes `result --out` JSON.)
    files: [
      'activities/media.ts',
      'activities/luma.ts',
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
          paths: ['fs', 'fs/promises', 'node:fs', 'node:fs/promises'].map((name) => ({
            name,
            message:
              'Asset files go through the asset store (assets/): get() a stored file into a scratch dir, put() one back.',
          })),
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
