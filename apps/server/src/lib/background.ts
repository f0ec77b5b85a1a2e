// Work started after a response (notices when a run ends) that must not fail the request that caused
// it: errors are logged, and close() waits for what is still running so shutdown does not cut it off.
export function createBackgroundTasks(log: (msg: string, err?: unknown) => void) {
  const running = new Set<Promise<void>>();
  return {
    run(what: string, task: Promise<void>): void {
      const tracked = task.catch((err) => log(`${what} failed`, err)).finally(() => running.delete(tracked));
      running.add(tracked);
    },
    async close(): Promise<void> {
      await Promise.all([...running]);
    },
  };
}
