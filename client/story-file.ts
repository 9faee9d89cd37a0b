import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';

/** Reads a story file (JSON or YAML, by extension; YAML also reads JSON) without validating it. */
export async function readStoryFile(file: string): Promise<{ story: unknown; baseDir: string }> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new Error(`cannot read story file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const story = absolute.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
    return { story, baseDir: path.dirname(absolute) };
  } catch (err) {
    throw new Error(
      `story file ${file} is not valid ${absolute.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`
    );
  }
}
