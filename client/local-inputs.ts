import { ApplicationFailure } from '@temporalio/common';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isUrlReference, suppliedInputs, type StorySpec } from '../common/story';
import type { FieldIssue } from '../common/validation';
import { checkAudioFile, checkImageFile } from '../inputs';

/** Limits the local check applies beyond the fixed image rules. */
export interface LocalInputLimits {
  /** Longest audio track, in seconds (REELFLOW_MAX_AUDIO_SECONDS). */
  maxAudioSeconds: number;
}

/**
 * Checks the story's supplied inputs that are local files, here and now, with the same checks the workers apply
 * (`inputs/`): each exists, is a readable regular file, and is the right kind within the limits (a still JPEG, PNG
 * or WebP of at most 50 Mpx that decodes; audio with a readable length within the limit). A URL with a scheme other
 * than http(s) is refused too; http(s) URLs are fetched and checked by the story itself before anything is paid.
 * Returns one issue per bad field; paths must already be absolute (see `prepareStory`).
 */
export async function checkLocalInputs(spec: StorySpec, limits: LocalInputLimits): Promise<FieldIssue[]> {
  const issues = await Promise.all(
    suppliedInputs(spec).map(async ({ field, kind, ref }): Promise<FieldIssue | undefined> => {
      if (isUrlReference(ref)) {
        const scheme = ref.trim().split(':')[0].toLowerCase();
        if (scheme === 'http' || scheme === 'https') return undefined;
        return { field, message: `${scheme}: references are not accepted; give an http(s) URL or a local file path` };
      }
      try {
        const info = await stat(ref);
        if (!info.isFile()) return { field, message: `${ref}: not a regular file` };
        await access(ref, constants.R_OK);
        if (kind === 'image') await checkImageFile(ref);
        else await checkAudioFile(ref, { maxSeconds: limits.maxAudioSeconds });
        return undefined;
      } catch (err) {
        return { field, message: reason(ref, err) };
      }
    })
  );
  return issues.filter((i): i is FieldIssue => i !== undefined);
}

function reason(ref: string, err: unknown): string {
  if (err instanceof ApplicationFailure) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${ref}: no such file`;
  if (code === 'EACCES' || code === 'EPERM') return `${ref}: not readable`;
  return `${ref}: ${err instanceof Error ? err.message : String(err)}`;
}
