import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

function lintWorkflowSource(source: string): string[] {
  const probe = path.join(root, 'workflows', `lint-probe-${process.pid}.ts`);
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
  const messages = lintWorkflowSource(
    "import { readFileSync } from 'node:fs';\nexport const size = () => readFileSync('x').length;\n"
  );
  expect(messages.some((m) => m.startsWith('no-restricted-imports') && /Node built-ins/.test(m))).toBe(true);
}, 60_000);

test('the lint rule rejects side-effecting packages and Math.random in workflows/', () => {
  const messages = lintWorkflowSource(
    "import sharp from 'sharp';\nexport const pick = () => (Math.random() > 0.5 ? sharp : undefined);\n"
  );
  expect(messages.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
  expect(messages.some((m) => m.startsWith('no-restricted-properties'))).toBe(true);
}, 60_000);

test('workflow code as written passes the same rules', () => {
  const messages = lintWorkflowSource(
    "import { sleep } from '@temporalio/workflow';\nexport async function napWorkflow(): Promise<void> {\n  await sleep('1s');\n}\n"
  );
  expect(messages).toEqual([]);
}, 60_000);
