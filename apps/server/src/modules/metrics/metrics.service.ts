// Ingestion (points, texts, logs: all or nothing, duplicates ignored) and reading back (downsampled
// series, texts by key and step, paged logs, CSV). New rows are pushed to socket subscribers.
import type { Db } from "@swanhouse/db";
import { fromWireValue, toWireValue, type LogBody, type SeriesQuery } from "@swanhouse/contracts";
import type { Clock } from "../../app.js";
import type { Realtime } from "../../plugins/socket.js";
import type { Actor } from "../../plugins/auth.js";
import { iso } from "../../lib/serialize.js";
import { csvLine } from "../../lib/csv.js";
import { NotFound } from "../../lib/errors.js";
import { WRITE_ROLES, type AccessService } from "../access/access.service.js";
import { insertLogs, insertPoints, insertPointsAlone, insertTexts, withTransaction, type LogRow, type PointRow, type TextRow } from "./metrics.repo.js";
import { readSeries } from "./downsample.js";

type Deps = { db: Pick<Db, "prisma" | "pool">; clock: Clock; realtime: Pick<Realtime, "metrics" | "texts" | "logs">; access: AccessService };

const toDate = (t: number | string | undefined, now: Date) => (t === undefined ? now : new Date(t));
const pointRows = (metrics: NonNullable<LogBody["metrics"]>, now: Date): PointRow[] => {
  const nowMs = now.getTime();
  return metrics.map((m) => ({ key: m.key, step: m.step, value: fromWireValue(m.value), time: m.time === undefined ? nowMs : typeof m.time === "number" ? m.time : Date.parse(m.time) }));
};

export function createMetricsService(deps: Deps) {
  const { prisma } = deps.db;

  async function log(actor: Actor, runId: string, body: LogBody) {
    const { run } = await deps.access.runFor(actor, runId, "write");
    const now = deps.clock.now();
    const points = pointRows(body.metrics ?? [], now);
    const texts = (body.texts ?? []).map((t) => ({ key: t.key, step: t.step, index: t.index ?? 0, text: t.text, caption: t.caption ?? null, time: toDate(t.time, now) }));
    const logs = (body.logs ?? []).map((l) => ({ level: l.level, message: l.message, seq: l.seq, time: toDate(l.time, now) }));
    // Points alone (the usual request) need no transaction unless the batch was partly re-sent.
    const alone = points.length && !texts.length && !logs.length ? await insertPointsAlone(deps.db, runId, points, now) : "partial";
    const inserted = typeof alone === "object" ? { p: alone.stored, t: [], l: [] } : await withTransaction(deps.db, async (q) => {
      // Held to the commit: a run deleted meanwhile (runs.repo.ts deleteRuns) is not written to.
      const { rowCount } = await q.query("SELECT 1 FROM runs WHERE id = $1 FOR KEY SHARE", [runId]);
      if (!rowCount) throw NotFound(`run '${runId}' not found`);
      const p = await insertPoints(q, runId, points, now);
      const t = await insertTexts(q, runId, texts);
      const l = await insertLogs(q, runId, logs);
      if (!points.length) await q.query("UPDATE runs SET last_heartbeat_at = $2 WHERE id = $1", [runId, now]);
      return { p, t, l };
    });
    return publish({ runId, projectId: run.projectId }, inserted.p, inserted.t, inserted.l);
  }

  /**
   * The usual ingest request, points sent with an API key, as one statement that also checks that the
   * key may write to the run (instead of three round trips: key, access, insert). undefined when that
   * check fails or the batch was partly re-sent: the caller then goes through log(), which words the
   * error (401, 403, 404) or takes the transaction.
   */
  async function logPointsWithKey(keyHash: string, runId: string, body: LogBody) {
    if (!body.metrics?.length || body.texts?.length || body.logs?.length) return undefined;
    const now = deps.clock.now();
    const out = await insertPointsAlone(deps.db, runId, pointRows(body.metrics, now), now, { keyHash, roles: [...WRITE_ROLES] });
    if (typeof out !== "object" || !out.writer) return undefined;
    return { keyId: out.writer.keyId, response: publish({ runId, projectId: out.writer.projectId }, out.stored, [], []) };
  }

  /** Pushes what was stored to subscribers; the answer to the log request. */
  function publish(rooms: { runId: string; projectId: string }, p: PointRow[], t: TextRow[], l: LogRow[]) {
    if (p.length) deps.realtime.metrics(rooms, () => p.map((r) => ({ key: r.key, step: r.step, value: toWireValue(r.value), time: iso(new Date(r.time)) })));
    if (t.length) deps.realtime.texts(rooms, () => t.map((r) => ({ ...r, time: iso(r.time) })));
    if (l.length) deps.realtime.logs(rooms, () => l.map((r) => ({ ...r, time: iso(r.time) })));
    return { accepted: { metrics: p.length, texts: t.length, logs: l.length } };
  }

  async function series(actor: Actor, runId: string, q: SeriesQuery) {
    await deps.access.runFor(actor, runId, "read");
    const out = await readSeries(deps.db.pool, runId, q.key, q);
    return { key: q.key, total: out.total, downsampled: out.downsampled, points: out.points.map((p) => ({ step: p.step, value: toWireValue(p.value), time: iso(p.time) })) };
  }

  async function texts(actor: Actor, runId: string, key: string, step: number | undefined) {
    await deps.access.runFor(actor, runId, "read");
    const steps = (await prisma.textItem.findMany({ where: { runId, key }, distinct: ["step"], select: { step: true }, orderBy: { step: "asc" } })).map((r) => r.step);
    const chosen = step ?? steps[steps.length - 1];
    const items = chosen === undefined ? [] : await prisma.textItem.findMany({ where: { runId, key, step: chosen }, orderBy: { index: "asc" } });
    return { key, steps, items: items.map((i) => ({ key: i.key, step: i.step, index: i.index, text: i.text, caption: i.caption, time: iso(i.time) })) };
  }

  async function logs(actor: Actor, runId: string, q: { limit: number; cursor?: string; afterSeq?: number }) {
    await deps.access.runFor(actor, runId, "read");
    const after = q.cursor !== undefined ? Number(q.cursor) : (q.afterSeq ?? -1);
    const rows = await prisma.logLine.findMany({ where: { runId, seq: { gt: BigInt(Number.isFinite(after) ? after : -1) } }, orderBy: { seq: "asc" }, take: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return {
      logs: page.map((r) => ({ seq: Number(r.seq), level: r.level, message: r.message, time: iso(r.time) })),
      nextCursor: rows.length > q.limit ? String(Number(page[page.length - 1]!.seq)) : null,
    };
  }

  /** CSV of every scalar of a run: step, then one column per key (wide), streamed in step order. */
  async function csv(actor: Actor, runId: string): Promise<string> {
    await deps.access.runFor(actor, runId, "read");
    const keys = (await prisma.metricSeries.findMany({ where: { runId, kind: "scalar" }, select: { key: true }, orderBy: { key: "asc" } })).map((k) => k.key);
    const { rows } = await deps.db.pool.query<{ step: number; key: string; value: number }>(
      "SELECT step, key, value FROM scalar_points WHERE run_id = $1 ORDER BY step, key",
      [runId],
    );
    const col = new Map(keys.map((k, i) => [k, i]));
    const lines = [csvLine(["step", ...keys])];
    let current: string[] | null = null;
    let currentStep = -1;
    for (const r of rows) {
      if (r.step !== currentStep) {
        if (current) lines.push([String(currentStep), ...current].join(","));
        current = keys.map(() => "");
        currentStep = r.step;
      }
      current![col.get(r.key)!] = String(Number(r.value));
    }
    if (current) lines.push([String(currentStep), ...current].join(","));
    return lines.join("\n") + "\n";
  }

  return { log, logPointsWithKey, series, texts, logs, csv };
}
