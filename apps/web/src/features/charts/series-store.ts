// The live series cache: one entry per (run, key). A fetch gives the server's downsampled line; socket
// batches are merged in (no refetch); a refetch after a reconnect keeps the live tail newer than what it
// got. Lines grown past MAX_POINTS by live appends are thinned (min/max/last) keeping the newest points.
import { SeriesResponse } from "@swanhouse/contracts";
import { api, enc, qs } from "../../api/http.js";
import { realtime } from "../../api/socket.js";
import { decimate, emptySeries, fromWire, mergePoints, tailAfter, type SeriesData, type WirePoint } from "../../charts/options/series.js";

export const FETCH_POINTS = 2000;
const MAX_POINTS = 2 * FETCH_POINTS;

type Entry = {
  data: SeriesData;
  total: number;
  state: "idle" | "loading" | "ready" | "error";
  gen: number;
  /** Date.now() when the current fetch started: a subscription acked later may have missed nothing. */
  fetchedAt: number;
  listeners: Set<() => void>;
};

const id = (runId: string, key: string) => `${runId}\u0000${key}`;

export class SeriesStore {
  private entries = new Map<string, Entry>();

  private entry(runId: string, key: string): Entry {
    let e = this.entries.get(id(runId, key));
    if (!e) {
      e = { data: emptySeries(), total: 0, state: "idle", gen: 0, fetchedAt: 0, listeners: new Set() };
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
    try {
      await realtime.ready();
      e.fetchedAt = Date.now();
      const res = await api(SeriesResponse, `/runs/${enc(runId)}/metrics${qs({ key, maxPoints: FETCH_POINTS })}`);
      if (gen !== e.gen) return;
      const fetched = fromWire(res.points);
      const lastStep = fetched.steps.length ? fetched.steps[fetched.steps.length - 1]! : -1;
      e.data = mergePoints(fetched, tailAfter(e.data, lastStep));
      e.total = Math.max(res.total, e.data.steps.length);
      e.state = "ready";
    } catch {
      if (gen === e.gen) e.state = "error";
    }
    this.notify(e);
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

  /** After a (re)subscribe: refetch what is on screen and was fetched before `before`; forget the rest. */
  refetchVisible(runIds?: ReadonlySet<string>, before = Infinity): void {
    for (const [k, e] of this.entries) {
      const runId = k.slice(0, k.indexOf("\u0000"));
      if (runIds && !runIds.has(runId)) continue;
      if (e.state === "ready" && e.fetchedAt >= before) continue;
      if (e.listeners.size) void this.load(runId, k.slice(k.indexOf("\u0000") + 1));
      else this.entries.delete(k);
    }
  }

  private notify(e: Entry) {
    for (const l of e.listeners) l();
  }
}

export const seriesStore = new SeriesStore();
