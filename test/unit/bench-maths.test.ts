import {
  concurrency,
  criticalPath,
  firstReach,
  maxOf,
  overlapMs,
  percentile,
  timeWeightedMean,
  union,
  type ActivitySpan,
} from '../../bench/maths';

const span = (name: string, scheduled: number, start: number, end: number, workflowId = 'w'): ActivitySpan => ({
  name,
  scheduled,
  start,
  end,
  workflowId,
});

describe('bench maths: in flight over time', () => {
  test('counts open intervals, an end and a start at the same instant being a hand-over, not two at once', () => {
    const steps = concurrency([
      { start: 0, end: 10 },
      { start: 5, end: 15 },
      { start: 10, end: 20 },
    ]);
    expect(steps).toEqual([
      { t: 0, value: 1 },
      { t: 5, value: 2 },
      { t: 10, value: 2 },
      { t: 15, value: 1 },
      { t: 20, value: 0 },
    ]);
    expect(maxOf(steps)).toBe(2);
    expect(firstReach(steps, 2)).toBe(5);
    expect(firstReach(steps, 3)).toBeUndefined();
  });

  test('the time-weighted mean weights each value by how long it held, inside the window only', () => {
    const steps = concurrency([
      { start: 0, end: 10 },
      { start: 5, end: 15 },
    ]);
    // 1 for 5 ms, 2 for 5 ms, 1 for 5 ms over [0, 15]
    expect(timeWeightedMean(steps, 0, 15)).toBeCloseTo(20 / 15, 10);
    // 2 for 5 ms over [5, 10]
    expect(timeWeightedMean(steps, 5, 10)).toBe(2);
    // before the first step nothing was open; after the last, 0
    expect(timeWeightedMean(steps, -10, 0)).toBe(0);
    expect(timeWeightedMean(steps, 15, 25)).toBe(0);
    expect(timeWeightedMean(steps, 10, 20)).toBeCloseTo(0.5, 10);
    expect(timeWeightedMean(steps, 10, 10)).toBe(0);
  });

  test('a cap held full the whole window has a mean equal to the cap', () => {
    const full = Array.from({ length: 10 }, (_, k) => [
      { start: 0, end: 100 + k },
      { start: 100 + k, end: 300 },
    ]).flat();
    expect(timeWeightedMean(concurrency(full), 0, 300)).toBe(10);
  });
});

describe('bench maths: percentiles', () => {
  test('interpolates between closest ranks; p0 and p100 are the extremes', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(5);
    expect(percentile(values, 25)).toBe(2);
    expect(percentile([1, 2], 50)).toBe(1.5);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, k) => k + 1),
        99
      )
    ).toBeCloseTo(99.01, 10);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bench maths: critical path', () => {
  test('walks back from the end through the last finisher, counting the gaps between as orchestration', () => {
    const spans = [
      span('a', 0, 10, 30),
      span('b', 31, 35, 60),
      span('c-short', 31, 36, 50, 'child'),
      span('d', 61, 70, 90),
    ];
    const path = criticalPath(spans, 0, 100);
    expect(path.steps.map((s) => s.name)).toEqual(['a', 'b', 'd']);
    expect(path.insideMs).toBe(20 + 25 + 20);
    expect(path.gaps).toEqual([
      { start: 0, end: 10 },
      { start: 30, end: 35 },
      { start: 60, end: 70 },
      { start: 90, end: 100 },
    ]);
    expect(path.wallMs).toBe(100);
    expect(path.insideMs + path.gaps.reduce((s, g) => s + g.end - g.start, 0)).toBe(path.wallMs);
  });

  test('among parallel branches it follows the one that finished last', () => {
    const spans = [
      span('kf', 0, 1, 10),
      span('clip-1', 11, 12, 40),
      span('clip-2', 11, 12, 55),
      span('stitch', 56, 57, 70),
    ];
    const path = criticalPath(spans, 0, 70);
    expect(path.steps.map((s) => s.name)).toEqual(['kf', 'clip-2', 'stitch']);
    expect(path.insideMs).toBe(9 + 43 + 13);
  });

  test('activities outside the wall are not on its path; no activities means all gap', () => {
    expect(criticalPath([span('late', 0, 90, 120)], 0, 100).steps).toEqual([]);
    expect(criticalPath([], 0, 100)).toEqual({ steps: [], insideMs: 0, gaps: [{ start: 0, end: 100 }], wallMs: 100 });
  });
});

describe('bench maths: interval overlaps', () => {
  test('union merges overlapping intervals; overlap counts shared time once', () => {
    expect(
      union([
        { start: 5, end: 10 },
        { start: 0, end: 6 },
        { start: 20, end: 30 },
      ])
    ).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 30 },
    ]);
    expect(
      overlapMs(
        [
          { start: 0, end: 10 },
          { start: 5, end: 15 },
        ],
        [{ start: 8, end: 30 }]
      )
    ).toBe(7);
  });
});
