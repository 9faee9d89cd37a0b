import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** Lints `source` as if it were a file in `folder`; answers `<rule>: <message>` per problem. */
function lintAs(folder: string, source: string): string[] {
  const probe = path.join(root, folder, `lint-probe-${process.pid}.ts`);
  writeFileSync(probe, source);
  try {
    let output: string;
    try {
      output = execFileSync(path.join(root, 'node_modules/.bin/eslint'), ['--format', 'json', probe], {
        cwd: root,
      }).toString();
    } catch (err) {
      // eslint exits 1 when it finds problems; the report is still on stdout.
      output = String((err as { stdout?: Buffer }).stdout ?? '');
    }
    const [result] = JSON.parse(output) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

test('the lint rule rejects a Node built-in imported into workflows/', () => {
  const messages = lintAs(
    'workflows',
    "import { readFileSync } from 'node:fs';\nexport const size = () => readFileSync('x').length;\n"
  );
  expect(messages.some((m) => m.startsWith('no-restricted-imports') && /Node built-ins/.test(m))).toBe(true);
}, 60_000);

test('the lint rule rejects side-effecting packages and Math.random in workflows/', () => {
  const messages = lintAs(
    'workflows',
    "import sharp from 'sharp';\nexport const pick = () => (Math.random() > 0.5 ? sharp : undefined);\n"
  );
  expect(messages.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
  expect(messages.some((m) => m.startsWith('no-restricted-properties'))).toBe(true);
}, 60_000);

test('workflow code as written passes the same rules', () => {
  const messages = lintAs(
    'workflows',
    "import { sleep } from '@temporalio/workflow';\nexport async function napWorkflow(): Promise<void> {\n  await sleep('1s');\n}\n"
  );
  expect(messages).toEqual([]);
}, 60_000);

test.each([
  [
    'server',
    "import { startEmulator } from '../emulator';\nexport const s = startEmulator;\n",
    'server/ may not import emulator/',
  ],
  [
    'activities',
    "import { storyWorkflow } from '../workflows';\nexport const w = storyWorkflow;\n",
    'activities/ may not import workflows/',
  ],
  [
    'activities',
    "import { loadConfig } from '../config';\nexport const c = loadConfig;\n",
    'activities/ may not import config/',
  ],
  [
    'client',
    "import { createServer } from '../server/server';\nexport const s = createServer;\n",
    'client/ may not import server/',
  ],
  [
    'common',
    "import { loadConfig } from '../config';\nexport const c = loadConfig;\n",
    'common/ may not import config/',
  ],
  [
    'cli',
    "import { createWorkers } from '../workers/create-workers';\nexport const w = createWorkers;\n",
    'cli/ may not import workers/',
  ],
  [
    'client',
    "import { createLocalAssetStore } from '../assets';\nexport const s = createLocalAssetStore;\n",
    'client/ may not import assets/',
  ],
  [
    'inputs',
    "import { loadConfig } from '../config';\nexport const c = loadConfig;\n",
    'inputs/ may not import config/',
  ],
  [
    'chaos',
    "import { createWorkers } from '../workers/create-workers';\nexport const w = createWorkers;\n",
    'chaos/ may not import workers/',
  ],
  ['dev', "import { PROFILES } from '../chaos/profiles';\nexport const p = PROFILES;\n", 'dev/ may not import chaos/'],
])(
  'an import across a boundary fails lint: %s/ %#',
  (folder, source, message) => {
    const messages = lintAs(folder, source);
    expect(messages.some((m) => m.startsWith('import-x/no-restricted-paths') && m.includes(message))).toBe(true);
  },
  60_000
);

test('an import the layout allows passes: the server may use the client library', () => {
  expect(
    lintAs('server', "import { ReelflowClient } from '../client/reelflow-client';\nexport const c = ReelflowClient;\n")
  ).toEqual([]);
}, 60_000);

test('the input checks may be used by the client library and the activities alike', () => {
  const source = "import { checkImageFile } from '../inputs';\nexport const c = checkImageFile;\n";
  expect(lintAs('client', source)).toEqual([]);
  expect(lintAs('activities', source)).toEqual([]);
}, 120_000);

test('the lint rule keeps provider SDKs and their types in providers/', () => {
  const source =
    "import type { Generation } from 'lumaai/resources/generations';\nimport { fal } from '@fal-ai/client';\nexport type G = Generation;\nexport const f = fal;\n";
  const outside = lintAs('activities', source).filter((m) => /Provider SDKs live in providers/.test(m));
  expect(outside).toHaveLength(2);
  // workers/ also has the asset-store rule, which carries this ban too.
  expect(lintAs('workers', source).filter((m) => /Provider SDKs live in providers/.test(m))).toHaveLength(2);
  expect(lintAs('providers', source).filter((m) => /Provider SDKs live in providers/.test(m))).toEqual([]);
}, 60_000);

test('asset files are touched only by the asset store: fs is refused where asset references are handled', () => {
  const source = "import { copyFile } from 'node:fs/promises';\nexport const c = copyFile;\n";
  for (const folder of ['workers', 'server']) {
    const messages = lintAs(folder, source);
    expect({
      folder,
      refused: messages.some((m) => m.startsWith('no-restricted-imports') && /asset store/.test(m)),
    }).toEqual({ folder, refused: true });
  }
  expect(lintAs('assets', source)).toEqual([]);
}, 120_000);
