import type { GenerationRecord } from './generation';

/** The generations of all keys, newest first per key, with the per-prompt variation counts behind picture seeds. */
export class GenerationStore {
  private readonly byId = new Map<string, GenerationRecord>();
  private readonly variations = new Map<string, number>();
  private seq = 0;

  /** Next insertion number, so equal timestamps still order. */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * How many generations with this key, kind, model and prompt came before (0 for the first). The picture seed
   * includes it, so repeated prompts give different variations while a re-run of the same sequence gives the same ones.
   */
  nextVariation(apiKey: string, kind: string, model: string, prompt: string): number {
    const id = [apiKey, kind, model, prompt].join('\u0000');
    const n = this.variations.get(id) ?? 0;
    this.variations.set(id, n + 1);
    return n;
  }

  /** Stores a new generation. */
  add(record: GenerationRecord): void {
    this.byId.set(record.id, record);
  }

  /** A live generation of this key, or undefined (another key's or a deleted one is as unknown as a missing one). */
  get(apiKey: string, id: string): GenerationRecord | undefined {
    const record = this.byId.get(id);
    return record && record.apiKey === apiKey && !record.deletedAt ? record : undefined;
  }

  /** A live generation by id whatever its key, for public asset URLs. */
  find(id: string): GenerationRecord | undefined {
    const record = this.byId.get(id);
    return record && !record.deletedAt ? record : undefined;
  }

  /** Deletes a generation for the API; the ledger keeps it, marked deleted, because it was billed. */
  remove(id: string): void {
    const record = this.byId.get(id);
    if (record) record.deletedAt = new Date();
  }

  /** Every generation of a key, deleted ones included (the ledger), newest first. */
  allOf(apiKey: string): GenerationRecord[] {
    return [...this.byId.values()]
      .filter((g) => g.apiKey === apiKey)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.seq - a.seq);
  }

  /** One page of a key's live generations, newest first, in Luma's list shape. */
  page(apiKey: string, limit: number, offset: number): { items: GenerationRecord[]; hasMore: boolean } {
    const all = this.allOf(apiKey).filter((g) => !g.deletedAt);
    const items = all.slice(offset, offset + limit);
    return { items, hasMore: offset + items.length < all.length };
  }
}
