import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { STORY_ID_PATTERN } from '../../common/constants';
import { isLoopback, type ApiAuth } from '../api/auth';
import { REVIEW_PAGE_CSS, refusedPageHtml, reviewPageHtml } from './page';

/** What the review page needs. */
export interface ReviewPageDeps {
  auth: ApiAuth;
}

// Nothing on the page comes from anywhere but this server; the link's signature must not leak through a Referer.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** The page's script, bundled ahead of time by `npm run build:review-page`. */
export const REVIEW_SCRIPT_PATH = path.join(__dirname, 'dist', 'review.js');

/**
 * Registers the review page: `GET /review/:id` (opened with a signed link `?exp=&sig=`, or without one on loopback
 * when no API tokens are configured) and its script and styles under `/review-page/`.
 */
export async function registerReviewPage(app: FastifyInstance, deps: ReviewPageDeps): Promise<void> {
  const script = await readFile(REVIEW_SCRIPT_PATH, 'utf8').catch(() => {
    throw new Error(`${REVIEW_SCRIPT_PATH} is missing: run \`npm run build:review-page\``);
  });
  const version = createHash('sha256').update(script).update(REVIEW_PAGE_CSS).digest('hex').slice(0, 12);

  const asset = (reply: FastifyReply, type: string, body: string) =>
    reply
      .header('content-type', `${type}; charset=utf-8`)
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  app.get('/review-page/review.js', (_request, reply) => asset(reply, 'text/javascript', script));
  app.get('/review-page/review.css', (_request, reply) => asset(reply, 'text/css', REVIEW_PAGE_CSS));

  app.get('/review/:id', (request, reply) => {
    const { id } = request.params as { id: string };
    const { exp, sig } = request.query as { exp?: string; sig?: string };
    const page = (status: number, html: string) =>
      reply
        .code(status)
        .headers(PAGE_HEADERS)
        .header('cache-control', 'no-store')
        .header('content-type', 'text/html; charset=utf-8')
        .send(html);

    if (!STORY_ID_PATTERN.test(id)) return page(404, refusedPageHtml('No such story', `There is no story '${id}'.`));
    if (exp !== undefined || sig !== undefined) {
      const check = deps.auth.checkReviewLink(id, String(exp ?? ''), String(sig ?? ''));
      if (check === 'expired') {
        return page(403, refusedPageHtml('Link expired', 'This review link has expired. Ask for a new one.'));
      }
      if (check !== 'valid') {
        return page(403, refusedPageHtml('Link not valid', 'This review link is not valid. Ask for a new one.'));
      }
    } else if (!(deps.auth.open && isLoopback(request))) {
      return page(
        401,
        refusedPageHtml('Review link needed', 'Open this page with the signed review link you were sent.')
      );
    }
    return page(200, reviewPageHtml(id, version));
  });
}
