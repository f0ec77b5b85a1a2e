// The live series cache: one entry per (run, key). A fetch gives the server's downsampled line; socket
// batches are merged in (no refetch); after a (re)subscribe, a catch-up fetch asks for the steps after
// the last one held, so nothing missed while connecting or disconnected stays missing. Lines grown past MAX_POINTS by live appends are thinned (min/max/last) keeping the newest points.
import { SeriesResponse } from "@swanhouse/contracts";
import { api, apiJson, enc, qs } from "../../api/http.js";
import { decimate, emptySeries, fromWire, mergePoints, tailAfter, type SeriesData, type WirePoint } from "../../charts/options/series.js";

export const FETCH_POINTS = 2000;
const MAX_POINTS = 1.5 * FETCH_POINTS;

type Entry = {
  data: SeriesData;
  total: number;
  state: "idle" | "loading" | "ready" | "error";
  gen: number;
  /** Date.now() when the last fetch started: fetches started after a subscription miss nothing. */
  fetchedAt: number;
  /** A subscription was acked while the first fetch was in flight: catch up when it lands. */
  catchUp: boolean;
  listeners: Set<() => void>;
};

/** Series fetches in flight at once. Downsampling a long series is the server's heaviest read: asking
 *  for every chart at once makes them all finish late together; a short queue (in the order charts
 *  mount, top of the page first) draws the first charts early and the last ones no later. */
export const MAX_CONCURRENT_FETCHES = 2;
let active = 0;
const waiting: Array<() => void> = [];
async function queued<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= MAX_CONCURRENT_FETCHES) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

const id = (runId: string, key: string) => `${runId}\u0000${key}`;
const lastStepOf = (d: SeriesData) => (d.steps.length ? d.steps[d.steps.length - 1]! : -1);

export class SeriesStore {
  private entries = new Map<string, Entry>();

  private entry(runId: string, key: string): Entry {
    let e = this.entries.get(id(runId, key));
    if (!e) {
      e = { data: emptySeries(), total: 0, state: "idle", gen: 0, fetchedAt: 0, catchUp: false, listeners: new Set() };
      this.entries.set(id(runId, key), e);
    }
    return e;
  }

  get(runId: string, key: string): { data: SeriesData; total: number; state: Entry["state"] } {
    return this.entry(runId, key);
  }

  subscribe(runId: string, key: string, fn: () => void): () => void {
    const e = this.entry(runId, key);
    e.listeners.add(fn);
    if (e.state === "idle") void this.load(runId, key);
    return () => e.listeners.delete(fn);
  }

  async load(runId: string, key: string): Promise<void> {
    const e = this.entry(runId, key);
    const gen = ++e.gen;
    e.state = e.state === "ready" ? "ready" : "loading";
    e.fetchedAt = Date.now();
    try {
      // Only the request holds a queue slot: the next one goes out while this answer is parsed and drawn.
      const res = SeriesResponse.parse(await queued(() => apiJson(`/runs/${enc(runId)}/metrics${qs({ key, maxPoints: FETCH_POINTS })}`)));
      if (gen !== e.gen) return;
      const fetched = fromWire(res.points);
      e.data = mergePoints(fetched, tailAfter(e.data, lastStepOf(fetched)));
      e.total = Math.max(res.total, e.data.steps.length);
      e.state = "ready";
    } catch {
      if (gen === e.gen) e.state = "error";
    }
    this.notify(e);
    if (e.catchUp && gen === e.gen) void this.catchUp(runId, key);
  }

  /** Points after the last step held, at full resolution: what a subscription that came after our
   *  fetch may have missed. Falls back to a full load when too much was missed. */
  async catchUp(runId: string, key: string): Promise<void> {
    const e = this.entry(runId, key);
    e.catchUp = false;
    const gen = e.gen;
    e.fetchedAt = Date.now();
    try {
      const res = await api(SeriesResponse, `/runs/${enc(runId)}/metrics${qs({ key, maxPoints: FETCH_POINTS, minStep: lastStepOf(e.data) + 1 })}`);
      if (gen !== e.gen) return;
      if (res.downsampled) return void this.load(runId, key);
      this.append(runId, res.points.map((p) => ({ ...p, key })));
    } catch {
      // The next resync or the polling fallback tries again.
    }
  }

  append(runId: string, points: readonly (WirePoint & { key: string })[]): void {
    const byKey = new Map<string, WirePoint[]>();
    for (const p of points) {
      const list = byKey.get(p.key);
      if (list) list.push(p);
      else byKey.set(p.key, [p]);
    }
    for (const [key, list] of byKey) {
      const e = this.entry(runId, key);
      const before = e.data.steps.length;
      let next = mergePoints(e.data, list);
      if (next === e.data) continue;
      e.total += next.steps.length - before;
      if (next.steps.length > MAX_POINTS) next = decimate(next, FETCH_POINTS, FETCH_POINTS / 4);
      e.data = next;
      this.notify(e);
    }
  }

  /** After a (re)subscribe acked: entries on screen whose fetch started before `before` catch up on
   *  what they may have missed (in-flight ones once they land); entries no one shows are forgotten. */
  resync(runIds?: ReadonlySet<string>, before = Infinity): void {
    for (const [k, e] of this.entries) {
      const sep = k.indexOf("\u0000");
      const runId = k.slice(0, sep);
      if (runIds && !runIds.has(runId)) continue;
      if (!e.listeners.size) {
        this.entries.delete(k);
        continue;
      }
      if (e.fetchedAt >= before) continue;
      if (e.state === "loading") e.catchUp = true;
      else if (e.state === "ready") void this.catchUp(runId, k.slice(sep + 1));
      else if (e.state === "error") void this.load(runId, k.slice(sep + 1));
    }
  }

  private notify(e: Entry) {
    for (const l of e.listeners) l();
  }
}

export const seriesStore = new SeriesStore();
