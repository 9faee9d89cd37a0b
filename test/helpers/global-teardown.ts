/** Stops the Temporal dev server the global setup started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__REELFLOW_TEMPORAL__?.stop();
}
