import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config';

// The connection profiles the README and docs/operations.md document (deploy/temporal/temporal.toml), loaded the way
// every reelflow process loads them: TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE through loadConfig.

const shipped = path.resolve(__dirname, '../../deploy/temporal/temporal.toml');
let dir: string;
let file: string;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const pem = (name: string) => `-----BEGIN ${name}-----\n${name.toLowerCase()} bytes\n-----END ${name}-----\n`;

beforeAll(() => {
  // The shipped file with its secret mount point moved to a temporary folder holding stand-in PEM files.
  dir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-profiles-'));
  writeFileSync(path.join(dir, 'temporal-client.pem'), pem('CERTIFICATE'));
  writeFileSync(path.join(dir, 'temporal-client.key'), pem('PRIVATE KEY'));
  writeFileSync(path.join(dir, 'temporal-ca.pem'), pem('CA CERTIFICATE'));
  file = path.join(dir, 'temporal.toml');
  writeFileSync(file, readFileSync(shipped, 'utf8').replaceAll('/run/secrets', dir));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (profile: string, env: Record<string, string> = {}) =>
  loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: profile, ...env }).temporal;

test('the Temporal Cloud API-key profile gives the regional endpoint, the namespace, TLS and the key', () => {
  const t = load('cloud-api-key', { TEMPORAL_API_KEY: 'secret-key-from-the-vault' });
  expect(t.address).toBe('us-east-1.aws.api.temporal.io:7233');
  expect(t.namespace).toBe('reelflow-prod.a1b2c');
  expect(t.connect.namespace).toBe('reelflow-prod.a1b2c');
  expect(t.connect.connectionOptions).toMatchObject({
    address: 'us-east-1.aws.api.temporal.io:7233',
    apiKey: 'secret-key-from-the-vault',
    tls: true,
  });
});

test('an API key written in the profile itself is used too', () => {
  const inline = path.join(dir, 'inline.toml');
  writeFileSync(inline, '[profile.default]\naddress = "eu-west-1.aws.api.temporal.io:7233"\napi_key = "in-file"\n');
  const t = loadConfig({ TEMPORAL_CONFIG_FILE: inline }).temporal;
  expect(t.connect.connectionOptions).toMatchObject({ apiKey: 'in-file', tls: true });
  expect(t.namespace).toBe('default');
});

test('the mTLS profile reads the client certificate pair into the TLS options', () => {
  const t = load('cloud-mtls');
  expect(t.address).toBe('reelflow-prod.a1b2c.tmprl.cloud:7233');
  expect(t.namespace).toBe('reelflow-prod.a1b2c');
  const tls = t.connect.connectionOptions.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array } };
  expect(text(tls.clientCertPair.crt)).toBe(pem('CERTIFICATE'));
  expect(text(tls.clientCertPair.key)).toBe(pem('PRIVATE KEY'));
  expect(t.connect.connectionOptions.apiKey).toBeUndefined();
});

test('the self-hosted mTLS profile adds the server CA and the name the server certificate carries', () => {
  const tls = load('selfhosted-mtls').connect.connectionOptions.tls as {
    serverRootCACertificate: Uint8Array;
    serverNameOverride: string;
  };
  expect(text(tls.serverRootCACertificate)).toBe(pem('CA CERTIFICATE'));
  expect(tls.serverNameOverride).toBe('temporal.internal.example');
});

test('variables that are set win over the profile, field by field', () => {
  const t = load('cloud-mtls', {
    TEMPORAL_NAMESPACE: 'staging.a1b2c',
    TEMPORAL_ADDRESS: 'staging.a1b2c.tmprl.cloud:7233',
  });
  expect(t.namespace).toBe('staging.a1b2c');
  expect(t.address).toBe('staging.a1b2c.tmprl.cloud:7233');
  expect(t.connect.connectionOptions.tls).toMatchObject({ clientCertPair: expect.any(Object) });
});

test('without a profile the environment alone decides, and nothing set means a local dev server', () => {
  expect(loadConfig({}).temporal).toMatchObject({ address: undefined, namespace: 'default' });
  expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.address).toBe('temporal:7233');
});

test('a missing profile or file is refused, naming the setting', () => {
  expect(() => load('no-such-profile')).toThrow(/TEMPORAL_PROFILE: Profile 'no-such-profile' not found/);
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') })).toThrow(
    /TEMPORAL_CONFIG_FILE: no such file/
  );
  const typo = path.join(dir, 'typo.toml');
  writeFileSync(typo, '[profile.default]\naddress = "x:7233"\napi-key = "oops"\n');
  expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: typo })).toThrow(/TEMPORAL_CONFIG_FILE: .*api-key/);
});
