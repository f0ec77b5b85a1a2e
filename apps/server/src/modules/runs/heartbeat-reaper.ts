// Marks running runs whose heartbeat (or last write) is older than HEARTBEAT_TIMEOUT_SECONDS as crashed.
// Runs in every server process; the UPDATE … RETURNING makes each run flip exactly once.
import type { Db } from "@swanhouse/db";
import type { Env } from "../../env.js";
import type { Clock } from "../../app.js";
import type { RunsService } from "./runs.service.js";

export type HeartbeatReaper = ReturnType<typeof startHeartbeatReaper>;

export function startHeartbeatReaper(deps: { db: Pick<Db, "prisma">; env: Pick<Env, "HEARTBEAT_TIMEOUT_SECONDS">; clock: Clock; runs: Pick<RunsService, "publishStatus"> }) {
  const timeoutMs = deps.env.HEARTBEAT_TIMEOUT_SECONDS * 1000;
  const sweep = async () => {
    const cutoff = new Date(deps.clock.now().getTime() - timeoutMs);
    const rows = await deps.db.prisma.$queryRaw<{ id: string }[]>`
      UPDATE runs SET status = 'crashed', finished_at = now()
      WHERE status = 'running' AND last_heartbeat_at < ${cutoff} RETURNING id`;
    for (const r of rows) await deps.runs.publishStatus(r.id); // subscribers, then the onEnded listeners
    return rows.length;
  };
  const timer = setInterval(() => void sweep().catch(() => {}), Math.min(timeoutMs / 4, 30_000));
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
