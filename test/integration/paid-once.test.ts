import type { ChildProcess } from 'node:child_process';
import { getStats, setFaults } from '../../emulator/admin';
import { expectPaidOnceAndCounted, ledgerOf, type Face } from '../helpers/ledger';
import { killed, spawnWorker } from '../helpers/processes';
import type { StoryInputForTests } from '../helpers/stories';
import { smallStory } from '../helpers/stories';
import { eventually, startTestStack, waitForStage, type TestStack } from '../helpers/stack';

// Every paid call once, under the faults a real provider and a real deployment produce, for each provider: Luma's
// clips (and keyframes), and fal's (Kling through @fal-ai/client; keyframes stay Luma's images). Faults are injected
// at the face of the provider under test. Each test ends with the emulators' ledgers: exactly one billed generation
// per idempotency key, and the story's credits equal their net charge.
// Timings scaled down: creates time out after 1.5 s, list and get calls after 1 s.
const TIMINGS = {
  LUMA_CREATE_TIMEOUT_MS: '1500',
  LUMA_LIST_TIMEOUT_MS: '1000',
  FAL_CREATE_TIMEOUT_MS: '1500',
  FAL_LIST_TIMEOUT_MS: '1000',
};

/** What differs between the providers under test. */
interface ProviderCase {
  face: Face;
  /** The story's model (unset: Luma's default). */
  videoModel?: 'kling-2.5-turbo-pro';
  /** Faults that lose create answers on this face: at fal only clips are created, so both of them lose theirs. */
  lost: Parameters<typeof setFaults>[1];
  /** Creates at this face for `shots` shots with `variations` variations per keyframe. */
  creates(shots: number, variations: number): number;
  /** What a clip cancelled in flight costs: Luma keeps it paid; fal bills results only. */
  cancelledClipCredits: number;
}

const CASES: ProviderCase[] = [
  {
    face: 'luma',
    lost: { dropResponseRate: 0.5, seed: 7 },
    creates: (shots, variations) => (shots + 1) * variations + shots,
    cancelledClipCredits: 3,
  },
  {
    face: 'fal',
    videoModel: 'kling-2.5-turbo-pro',
    lost: { dropNext: 2 },
    creates: (shots) => shots,
    cancelledClipCredits: 0,
  },
];

/** The origin and key of a face of the stack. */
function faceOf(stack: TestStack, face: Face): { origin: string; key: string } {
  return face === 'luma'
    ? { origin: stack.emulator.origin, key: stack.lumaKey }
    : { origin: stack.fal.origin, key: stack.falKey };
}

describe.each(CASES)('$face: with in-process workers', (c) => {
  let stack: TestStack;
  const face = () => faceOf(stack, c.face);
  const story = (options: Parameters<typeof smallStory>[0]) =>
    smallStory({ ...options, ...(c.videoModel && { videoModel: c.videoModel }) });
  beforeAll(async () => {
    stack = await startTestStack({ env: TIMINGS });
  });
  afterEach(async () => {
    await setFaults(face().origin, {});
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Runs a story to its end with `faults` on from its start at this face, approving the keyframes. */
  async function runWith(storyId: string, faults: Parameters<typeof setFaults>[1], input?: StoryInputForTests) {
    await setFaults(face().origin, faults);
    await stack.client.start(input ?? story({ shots: 2, variations: 2 }), { storyId });
    await waitForStage(stack, storyId, 'awaiting-keyframe-review');
    await stack.client.reviewKeyframes(storyId, { approve: true });
    return stack.client.result(storyId);
  }

  test('lost create responses are found again, never paid twice', async () => {
    const id = `lost-responses-${c.face}`;
    const result = await runWith(id, c.lost);
    expect(result.status).toBe('completed');
    expect((await getStats(face().origin)).requests.byStatus.dropped).toBeGreaterThanOrEqual(2);
    await expectPaidOnceAndCounted(stack, result);
  });

  test('creates answered after the create timeout are found again by the next attempt', async () => {
    const id = `slow-creates-${c.face}`;
    const result = await runWith(id, { extraLatencyMs: 3000 });
    expect(result.status).toBe('completed');
    const ledger = await ledgerOf(stack, id, { face: c.face });
    // Every create at this face was made by a timed-out attempt and found again.
    expect(Object.keys(ledger.keys)).toHaveLength(c.creates(2, 2));
    await expectPaidOnceAndCounted(stack, result);
  });

  test('a reconciliation whose list call hangs gives up without creating, and a later attempt finds the create', async () => {
    // Every create loses its answer, and the next three list calls hang past the 1 s list timeout.
    const id = `hanging-list-${c.face}`;
    const result = await runWith(id, { dropNext: 3, slowListNext: 3 }, story({ shots: 1, variations: 1 }));
    expect(result.status).toBe('completed');
    expect((await getStats(face().origin)).faults.slowListNext).toBe(0);
    await expectPaidOnceAndCounted(stack, result);
  });

  test('a story cancelled while a clip create is on the wire finds that generation, stops it and lists it', async () => {
    const id = `cancel-mid-create-${c.face}`;
    await stack.client.start(story({ shots: 1, variations: 1 }), { storyId: id });
    await waitForStage(stack, id, 'awaiting-keyframe-review');
    // The clip's create is recorded at once, but answered only after 20 s; the clip dreams for long.
    await setFaults(face().origin, { slowCreateRate: 1, slowCreateMs: 20_000, extraDreamingMs: 60_000 });
    await stack.client.reviewKeyframes(id, { approve: true });
    const clipKey = await eventually(
      async () => Object.keys((await ledgerOf(stack, id, { face: c.face })).keys).find((k) => k.includes('/shot/')),
      30_000,
      'the clip create to reach the emulator'
    );
    await stack.client.cancel(id);
    const result = await stack.client.result(id);
    expect(result.status).toBe('cancelled');
    const [clipId] = (await ledgerOf(stack, id, { face: c.face })).keys[clipKey].generationIds;
    expect(result.paid).toContainEqual(
      expect.objectContaining({ generationId: clipId, credits: c.cancelledClipCredits })
    );
    const stats = (await getStats(face().origin)).keys[face().key];
    expect(stats.generations.find((g) => g.id === clipId)).toMatchObject({ deleted: true });
    expect(stats.inFlight).toBe(0);
    await expectPaidOnceAndCounted(stack, result);
  });
});

describe('with a worker process killed between a create and its answer', () => {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    stack = await startTestStack({ env: TIMINGS, startWorkers: false });
  });
  afterAll(async () => {
    await Promise.all(children.map(killed));
    await stack?.close();
  });

  test.each(CASES)(
    '$face: the create reached the provider, the worker died before the answer: the next worker finds it',
    async (c) => {
      const id = `killed-mid-create-${c.face}`;
      const { origin } = faceOf(stack, c.face);
      const first = spawnWorker(stack, `mid-create-${c.face}-1`);
      children.push(first);
      const input = smallStory({ shots: 1, variations: 1, ...(c.videoModel && { videoModel: c.videoModel }) });
      await stack.client.start(input, { storyId: id });
      await waitForStage(stack, id, 'awaiting-keyframe-review', 120_000);
      // The create is recorded at once; its answer would come after a minute, long after the worker is gone.
      await setFaults(origin, { slowCreateRate: 1, slowCreateMs: 60_000 });
      await stack.client.reviewKeyframes(id, { approve: true });
      await eventually(
        async () =>
          Object.keys((await ledgerOf(stack, id, { face: c.face })).keys).some((k) => k.includes('/shot/'))
            ? true
            : undefined,
        30_000,
        'the clip create to reach the emulator'
      );
      await killed(first);
      await setFaults(origin, {});
      const second = spawnWorker(stack, `mid-create-${c.face}-2`);
      children.push(second);
      const result = await stack.client.result(id);
      expect(result.status).toBe('completed');
      expect(result.shots[0].attempts).toBe(1);
      expect(result.shots[0].provider).toBe(c.face);
      await expectPaidOnceAndCounted(stack, result);
      await killed(second);
    }
  );
});
