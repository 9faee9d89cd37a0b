import type { temporal } from '@temporalio/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { setFaults } from '../../emulator/admin';
import { clipAttemptWorkflowId } from '../../common/constants';
import { expectPaidOnceAndCounted, ledgerOf } from '../helpers/ledger';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { smallStory } from '../helpers/stories';

// Luma's callbacks end a clip's wait: with polls ten minutes apart (a real interval, stretched so polling alone
// cannot finish inside a test), a clip is collected as soon as the emulator calls back, through the HTTP server and
// a signal to the clip workflow, which reads the generation and believes only what it reads. Keyframes are supplied
// files, so no image has to wait for a poll.

let stack: TestStack;
let dir: string;
let keyframes: string[];

beforeAll(async () => {
  stack = await startTestStack({
    env: { LUMA_POLL_INTERVAL_MS: '600000', REELFLOW_POLL_WINDOW_MS: '3600000' },
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'reelflow-callbacks-'));
  keyframes = await Promise.all(
    ['#204060', '#806040'].map(async (color, i) => {
      const file = path.join(dir, `keyframe-${i}.png`);
      await sharp({ create: { width: 960, height: 540, channels: 3, background: color } })
        .png()
        .toFile(file);
      return file;
    })
  );
});
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const story = () =>
  smallStory({ shots: 1, keyframes, transition: { crossfade: 0 }, review: { keyframes: false, clips: false } });

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

async function clipHistory(storyId: string): Promise<HistoryEvent[]> {
  const history = await stack.temporal.workflow.getHandle(clipAttemptWorkflowId(storyId, 0, 1)).fetchHistory();
  return history.events ?? [];
}

const scheduled = (events: HistoryEvent[], type: string) =>
  events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
const decode = (payload: temporal.api.common.v1.IPayload | undefined) =>
  payload?.data ? JSON.parse(Buffer.from(payload.data).toString()) : undefined;

/** The clip workflow's polling activities: the window it asked for, what each answered, whether it was cancelled. */
function polls(events: HistoryEvent[]) {
  return scheduled(events, 'pollGeneration').map((s) => {
    const id = Number(s.eventId);
    const done = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === id);
    const cancelled = events.some((e) => Number(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId) === id);
    return {
      windowMs: decode(s.activityTaskScheduledEventAttributes!.input!.payloads![0]).windowMs as number,
      state: decode(done?.activityTaskCompletedEventAttributes?.result?.payloads?.[0])?.state as string | undefined,
      cancelled,
    };
  });
}
const signals = (events: HistoryEvent[]) =>
  events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'generationSettled');

test('a clip is collected when Luma calls back, not at the next poll ten minutes later, and paid once', async () => {
  // A few seconds of dreaming: the polling window has read "dreaming" and gone to sleep when the clip lands.
  await setFaults(stack.emulator.origin, { extraDreamingMs: 3000 });
  try {
    await stack.client.start(story(), { storyId: 'called-back' });
    const result = await stack.client.result('called-back');
    expect(result.status).toBe('completed');
    expect(result.shots[0].attempts).toBe(1);
    await expectPaidOnceAndCounted(stack, result);

    const events = await clipHistory('called-back');
    expect(signals(events)).toHaveLength(1);
    // The one read the callback asked for saw the clip done; the hour-long window (there is one unless the
    // callback beat the create's answer to the workflow) was not waited out: abandoned, it ends at its own next read.
    const all = polls(events);
    expect(all.filter((p) => p.windowMs === 1)).toEqual([{ windowMs: 1, state: 'completed', cancelled: false }]);
    const windows = all.filter((p) => p.windowMs !== 1);
    expect(windows.length).toBeLessThanOrEqual(1);
    for (const w of windows) expect(w).toEqual({ windowMs: 3_600_000, state: undefined, cancelled: false });
    expect(scheduled(events, 'ingestClip')).toHaveLength(1);
  } finally {
    await setFaults(stack.emulator.origin, {});
  }
});

test('a callback that the provider does not bear out ends nothing: the wait goes on until the real one', async () => {
  // The clip dreams for a while, so a made-up "completed" arrives while Luma still says "dreaming".
  await setFaults(stack.emulator.origin, { extraDreamingMs: 8000 });
  try {
    await stack.client.start(story(), { storyId: 'made-up' });
    const [key, entry] = await eventually(async () => {
      const found = Object.entries((await ledgerOf(stack, 'made-up')).keys).find(([k]) => k.includes('/shot/'));
      return found && found[1].generationIds.length > 0 ? found : undefined;
    }, 60_000);
    const generationId = entry.generationIds[0];
    // The window must be running, or the hint would be read before it instead of cutting it short.
    await eventually(async () => scheduled(await clipHistory('made-up'), 'pollGeneration').length > 0 || undefined);

    const forged = await fetch(`${stack.config.http.publicUrl}/v1/luma/callback?key=${encodeURIComponent(key)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: generationId, state: 'completed' }),
    });
    expect(forged.status).toBe(204);
    // The read it caused has answered: still dreaming ...
    const afterRead = await eventually(async () => {
      const events = await clipHistory('made-up');
      return polls(events)[1]?.state ? events : undefined;
    }, 60_000);
    expect(signals(afterRead)).toHaveLength(1);
    expect(polls(afterRead)).toEqual([
      { windowMs: 3_600_000, state: undefined, cancelled: false },
      { windowMs: 1, state: 'dreaming', cancelled: false },
    ]);
    // ... so the clip was not taken for done: nothing downloaded, the window goes on, the story waits.
    expect(scheduled(afterRead, 'ingestClip')).toHaveLength(0);
    expect((await stack.client.progress('made-up')).shots[0].state).not.toBe('completed');

    // Luma's own callback, when the clip is done, still ends the wait.
    const result = await stack.client.result('made-up');
    expect(result.status).toBe('completed');
    const events = await clipHistory('made-up');
    expect(signals(events)).toHaveLength(2);
    expect(polls(events).map((p) => [p.windowMs, p.state])).toEqual([
      [3_600_000, undefined],
      [1, 'dreaming'],
      [1, 'completed'],
    ]);
    await expectPaidOnceAndCounted(stack, result);
  } finally {
    await setFaults(stack.emulator.origin, {});
  }
});
