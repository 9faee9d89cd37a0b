import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AssetRef, StoredFile } from '../common/progress';
import { sha256Of } from './local';
import { expiryWindow } from './signing';
import { assetKey, contentTypeOf, isAssetKey, type AssetStore } from './store';

/** The longest a SigV4 presigned URL can be valid (7 days). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Files larger than this go up in parts of this size, several at once (lib-storage); smaller ones in one PUT. */
const PART_SIZE = 8 * 1024 * 1024;

/** Options of {@link createS3AssetStore}. */
export interface S3AssetStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing `/`), or '' for the bucket's root. */
  prefix: string;
  /** The S3 client; default: {@link defaultS3Client}, made on first use. */
  client?: S3Client;
  /** Clock, for tests. */
  now?: () => number;
  /** Multipart part size in bytes (at least 5 MiB); default 8 MiB. */
  partSize?: number;
}

/**
 * Asset store in an S3-compatible bucket: `s3://<bucket>/<prefix>/<key>` is a file's canonical URL, handed out only
 * as a presigned, expiring GET URL. Writes are conditional (`If-None-Match: *`, on the single PUT or on completing a
 * multipart upload): an object appears whole or not at all, and a complete one is never replaced.
 */
export function createS3AssetStore(options: S3AssetStoreOptions): AssetStore {
  const { bucket } = options;
  const keyPrefix = options.prefix ? `${options.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
  const base = `s3://${bucket}/${keyPrefix}`;
  let made: Promise<S3Client> | undefined;
  const s3 = (): Promise<S3Client> => (made ??= options.client ? Promise.resolve(options.client) : defaultS3Client());
  const now = options.now ?? Date.now;
  const refOfKey = (key: string): AssetRef => ({ key, url: `${base}${key}` });
  const find = (name: string): AssetRef | undefined => {
    if (!name.startsWith(base)) return undefined;
    const key = name.slice(base.length).split(/[?#]/)[0];
    return isAssetKey(key) ? refOfKey(key) : undefined;
  };
  /** The object key of a stored file, judged by its canonical URL (a reference of another store is refused). */
  const objectKey = (file: StoredFile): string => {
    const ref = find(typeof file === 'string' ? file : file.url);
    if (!ref) throw new Error(`not a file of the asset store ${base}: ${typeof file === 'string' ? file : file.url}`);
    return `${keyPrefix}${ref.key}`;
  };
  return {
    kind: 's3',
    find,
    ref: (storyId, name) => refOfKey(assetKey(storyId, name)),
    async put(file, ref, opts) {
      const Key = objectKey(ref);
      const sha256 = await sha256Of(file);
      const client = await s3();
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key,
          Body: createReadStream(file),
          ContentType: contentTypeOf(Key),
          IfNoneMatch: '*',
          Metadata: { sha256 },
        },
        partSize: Math.max(options.partSize ?? PART_SIZE, 5 * 1024 * 1024),
        queueSize: 4,
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort();
      if (opts?.signal?.aborted) abort();
      opts?.signal?.addEventListener('abort', abort, { once: true });
      try {
        await upload.done();
        return 'written';
      } catch (err) {
        if (!preconditionFailed(err)) {
          // A stopped upload's parts are dropped now, not when its last part request gives up.
          if (upload.uploadId) {
            await client
              .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: upload.uploadId }))
              .catch(() => undefined);
          }
          throw err;
        }
      } finally {
        opts?.signal?.removeEventListener('abort', abort);
      }
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal: opts?.signal });
      return head.Metadata?.sha256 === sha256 ? 'same' : 'kept-existing';
    },
    async get(file, dest, opts) {
      const Key = objectKey(file);
      const answer = await (
        await s3()
      )
        .send(new GetObjectCommand({ Bucket: bucket, Key }), { abortSignal: opts?.signal })
        .catch((err: unknown) => {
          if (err instanceof S3ServiceException && err.name === 'NoSuchKey') {
            throw new Error(`asset not in the store: ${base}${Key.slice(keyPrefix.length)}`, { cause: err });
          }
          throw err;
        });
      await mkdir(path.dirname(path.resolve(dest)), { recursive: true });
      try {
        await pipeline(answer.Body as Readable, createWriteStream(dest), { signal: opts?.signal });
      } catch (err) {
        await rm(dest, { force: true });
        throw err;
      }
    },
    async signUrl(url, ttlSeconds) {
      const ref = find(url);
      if (!ref) return url;
      // Dated at the start of the expiry step, so the same file gets the same URL for a while (see expiryFor).
      const { issuedAt, expiresAt } = expiryWindow(Math.floor(now() / 1000), ttlSeconds);
      return getSignedUrl(await s3(), new GetObjectCommand({ Bucket: bucket, Key: `${keyPrefix}${ref.key}` }), {
        signingDate: new Date(issuedAt * 1000),
        expiresIn: Math.min(MAX_PRESIGN_SECONDS, expiresAt - issuedAt),
      });
    },
  };
}

/** A conditional write found the object already there. */
function preconditionFailed(err: unknown): boolean {
  return (
    err instanceof S3ServiceException && (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412)
  );
}

/**
 * An S3 client configured by the SDK itself from the standard settings (AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_PROFILE and the shared config files), with path-style addressing
 * when the endpoint the SDK found needs it.
 */
export async function defaultS3Client(config: S3ClientConfig = {}): Promise<S3Client> {
  const probe = new S3Client(config);
  const endpoint = await configuredEndpoint(probe);
  probe.destroy();
  return new S3Client({ forcePathStyle: needsPathStyle(endpoint), ...config });
}

/**
 * Whether an endpoint can only be reached path-style (`http://host/bucket/key`): an IP address, `localhost`, or a
 * one-label name such as a compose service (`http://s3:5000`), where `<bucket>.<host>` resolves nowhere.
 */
export function needsPathStyle(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost' || !host.includes('.');
}

/** The endpoint URL the SDK found in AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile, if any. */
async function configuredEndpoint(client: S3Client): Promise<string | undefined> {
  const explicit = client.config.endpoint;
  if (explicit) {
    const e = await explicit();
    return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}`;
  }
  const fromSettings = (client.config as { serviceConfiguredEndpoint?: () => Promise<string | undefined> })
    .serviceConfiguredEndpoint;
  return fromSettings ? fromSettings() : undefined;
}
