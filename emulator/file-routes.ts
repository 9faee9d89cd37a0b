import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error';
/** Finds a finished generation's file by id and name (any emulator face). */
export interface FileSource {
  filePath(id: string, name: string): { file: string; name: string } | undefined;
}

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
};

/** Parses a single `bytes=a-b` range; anything fancier is answered with the whole file. */
function byteRange(
  header: string | undefined,
  size: number
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

/** Serves finished media at `/files/:id/:name`, public like Luma's CDN URLs, with single-range support for players. */
export function registerFileRoutes(app: FastifyInstance, service: FileSource): void {
  app.get<{ Params: { id: string; name: string } }>('/files/:id/:name', async (req, reply) => {
    const found = service.filePath(req.params.id, req.params.name);
    if (!found) throw new ApiError(404, 'File not found');
    const { size } = await stat(found.file);
    reply.header('content-type', CONTENT_TYPES[path.extname(found.name)] ?? 'application/octet-stream');
    reply.header('accept-ranges', 'bytes');
    const range = byteRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`);
      throw new ApiError(416, 'Range not satisfiable');
    }
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('content-length', range.end - range.start + 1);
      return reply.send(createReadStream(found.file, range));
    }
    reply.header('content-length', size);
    return reply.send(createReadStream(found.file));
  });
}
