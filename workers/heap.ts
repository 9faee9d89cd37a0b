// Node's heap flags for a worker process. Left alone, V8 lets a worker's heap grow towards a quarter of the
// machine's memory and seldom hands it back: one worker with 1,000 stories waiting for review sat at 1.3 GB RSS,
// most of it garbage never collected (docs/performance.md, P6). What a worker keeps alive is bounded by its workflow
// cache (REELFLOW_MAX_CACHED_WORKFLOWS, default 200), which fits well inside this; raise both together.

/** What `npm run worker` and the process stacks put in NODE_OPTIONS when it is not set already. */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=640';
