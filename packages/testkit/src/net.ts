// Ports and readiness for tests that start real server processes.
import net from "node:net";

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Polls `url` until it answers below 500; fails early when `alive()` says the process has exited. */
export async function waitForHttp(url: string, opts: { timeoutMs: number; alive: () => boolean }): Promise<void> {
  const end = Date.now() + opts.timeoutMs;
  while (Date.now() < end) {
    if (!opts.alive()) throw new Error("the server exited during start-up (see its output above)");
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server did not answer ${url} within ${opts.timeoutMs} ms`);
}
