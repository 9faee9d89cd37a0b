import { readFileSync } from 'node:fs';
import { WORKER_NODE_OPTIONS } from '../../workers/heap';
import path from 'node:path';
import YAML from 'yaml';
import { AWS_SDK_ENV, ENV, loadConfig, requireSigningSecret } from '../../config';

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
  expect(() => loadConfig({ REELFLOW_SIGNING_SECRET: 'short' })).toThrow(
    /REELFLOW_SIGNING_SECRET: must be at least 16/
  );
  expect(() => loadConfig({ REELFLOW_INSECURE_OPEN_API: 'yes' })).toThrow(/REELFLOW_INSECURE_OPEN_API/);
  expect(() => loadConfig({ REELFLOW_MAX_AUDIO_SECONDS: '0' })).toThrow(/REELFLOW_MAX_AUDIO_SECONDS/);
  // A give-up shorter than a create would refuse every create before sending it.
  expect(() => loadConfig({ REELFLOW_SUBMIT_GIVE_UP_MS: '6000' })).toThrow(
    /REELFLOW_SUBMIT_GIVE_UP_MS: must be at least/
  );
  expect(
    loadConfig({ REELFLOW_SUBMIT_GIVE_UP_MS: '6000', LUMA_CREATE_TIMEOUT_MS: '1500', FAL_CREATE_TIMEOUT_MS: '1500' })
      .timings.submitGiveUpMs
  ).toBe(6000);
});

test('the signing secret: its own name first, the older review-secret name after; required where processes meet', () => {
  expect(loadConfig({ REELFLOW_REVIEW_SECRET: 'older-name-secret-1' }).api.signingSecret).toBe('older-name-secret-1');
  expect(
    loadConfig({ REELFLOW_SIGNING_SECRET: 'newer-name-secret-1', REELFLOW_REVIEW_SECRET: 'older-name-secret-1' }).api
      .signingSecret
  ).toBe('newer-name-secret-1');
  expect(() => requireSigningSecret(loadConfig({}))).toThrow(/REELFLOW_SIGNING_SECRET is not set/);
  expect(loadConfig({}).api.insecureOpen).toBe(false);
  expect(loadConfig({ REELFLOW_INSECURE_OPEN_API: 'true' }).api.insecureOpen).toBe(true);
  expect(loadConfig({}).inputs.maxAudioSeconds).toBe(3600);
});

test('npm run worker caps the V8 heap as the process stacks do, unless NODE_OPTIONS is set', () => {
  const scripts = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
  expect(scripts.worker).toBe(`NODE_OPTIONS="\${NODE_OPTIONS:-${WORKER_NODE_OPTIONS}}" tsx workers/main.ts`);
});

test('docker-compose services only use env names the config module defines', () => {
  const compose = YAML.parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  const known = new Set<string>([
    ...Object.keys(ENV),
    ...AWS_SDK_ENV,
    'LUMA_EMULATOR_KEYS',
    'LUMA_EMULATOR_PORT',
    'LUMA_EMULATOR_HOST',
    'LUMA_EMULATOR_PUBLIC_ORIGIN',
    'LUMA_EMULATOR_DATA_DIR',
  ]);
  for (const name of ['worker', 'api', 'deploy']) {
    const env = compose.services[name].environment as Record<string, string>;
    for (const key of Object.keys(env)) expect(known).toContain(key);
    // Separate containers: the server checks what the worker signs, so both must be told the same secret.
    expect(env.REELFLOW_SIGNING_SECRET).toMatch(/^\$\{REELFLOW_SIGNING_SECRET:\?/);
  }
  // The API container is never open: its callers (the host's port, Luma) are not loopback.
  expect(compose.services.api.environment.REELFLOW_API_TOKENS).toMatch(/^\$\{REELFLOW_API_TOKENS:\?/);
  // Worker and API share no disk, only the bucket of the compose file's own S3-compatible service.
  for (const name of ['worker', 'api']) {
    const service = compose.services[name];
    expect({ name, volumes: service.volumes }).toEqual({ name, volumes: undefined });
    const store = service.environment.REELFLOW_ASSET_STORE;
    expect(loadConfig({ REELFLOW_ASSET_STORE: store }).assets).toEqual({
      kind: 's3',
      bucket: 'reelflow',
      prefix: 'assets',
    });
    expect(service.depends_on['s3-setup']).toEqual({ condition: 'service_completed_successfully' });
  }
  expect(compose.services.worker.environment.AWS_ENDPOINT_URL_S3).toBe('http://s3:7070');
  expect(compose.services.s3.command).toEqual(expect.arrayContaining(['--port', ':7070']));
});

test('the asset store setting: unset is the local folder, s3://bucket/prefix a bucket, anything else refused', () => {
  expect(loadConfig({ REELFLOW_DATA_DIR: '/srv/rf' }).assets).toEqual({ kind: 'local', dir: '/srv/rf/assets' });
  expect(loadConfig({ REELFLOW_ASSET_STORE: 's3://studio-assets' }).assets).toEqual({
    kind: 's3',
    bucket: 'studio-assets',
    prefix: '',
  });
  expect(loadConfig({ REELFLOW_ASSET_STORE: 's3://studio-assets/reelflow/prod/' }).assets).toEqual({
    kind: 's3',
    bucket: 'studio-assets',
    prefix: 'reelflow/prod',
  });
  for (const bad of ['/srv/assets', 'https://bucket.s3.amazonaws.com/x', 's3://Bad_Bucket/x', 's3://bucket/../x']) {
    expect(() => loadConfig({ REELFLOW_ASSET_STORE: bad })).toThrow(/REELFLOW_ASSET_STORE: must be s3:\/\//);
  }
});
