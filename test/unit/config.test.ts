import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ENV, loadConfig } from '../../config';

const root = path.resolve(__dirname, '../..');

test('every setting has a documented default and .env.example lists every one', () => {
  const example = readFileSync(path.join(root, '.env.example'), 'utf8');
  for (const name of Object.keys(ENV)) expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const name of Object.keys(ENV)) expect(readme).toContain(`\`${name}\``);
});

test('bad settings are refused with the variable named', () => {
  expect(() => loadConfig({ LUMA_MAX_IN_FLIGHT: '0' })).toThrow(/LUMA_MAX_IN_FLIGHT/);
  expect(() => loadConfig({ REELFLOW_WORKER_ROLES: 'workflows,gpu' })).toThrow(/REELFLOW_WORKER_ROLES/);
  expect(() => loadConfig({ REELFLOW_API_TOKENS: 'abc' })).toThrow(/REELFLOW_API_TOKENS\[0\]/);
});

test('docker-compose services only use env names the config module defines', () => {
  const compose = YAML.parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  const known = new Set([
    ...Object.keys(ENV),
    'LUMA_EMULATOR_KEYS',
    'LUMA_EMULATOR_PORT',
    'LUMA_EMULATOR_HOST',
    'LUMA_EMULATOR_PUBLIC_ORIGIN',
    'LUMA_EMULATOR_DATA_DIR',
  ]);
  for (const name of ['worker', 'api', 'deploy']) {
    const env = compose.services[name].environment as Record<string, string>;
    for (const key of Object.keys(env)) expect(known).toContain(key);
  }
});
