// The live series store against a fake server: live merges, catch-up after a (re)subscribe, no
// duplicated or missing points.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SeriesStore } from "./series-store.js";

const time = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
const pt = (s: number) => ({ step: s, value: s / 10, time: time(s) });

/** A server holding steps [0, upTo) of one key; answers minStep/maxPoints like the real one. */
function fakeServer(state: { upTo: number; downsampleOver?: number }) {
  const calls: URL[] = [];
  const fetchMock = vi.fn(async (input: string) => {
    const url = new URL(input, "http://x");
    calls.push(url);
    const min = Number(url.searchParams.get("minStep") ?? 0);
    const steps = Array.from({ length: Math.max(0, state.upTo - min) }, (_, i) => min + i);
    const downsampled = state.downsampleOver !== undefined && steps.length > state.downsampleOver;
    const body = { key: url.searchParams.get("key"), total: steps.length, downsampled, points: (downsampled ? steps.filter((s) => s % 2 === 0) : steps).map(pt) };
    return new Response(JSON.stringify(body), { status: 200 });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.unstubAllGlobals());

describe("SeriesStore", () => {
  it("loads on first subscribe and merges live batches without duplicates", async () => {
    fakeServer({ upTo: 10 });
    const store = new SeriesStore();
    const seen = vi.fn();
    store.subscribe("r", "loss", seen);
    await settle();
    expect(store.get("r", "loss").data.steps).toEqual([...Array(10).keys()]);
    store.append("r", [8, 9, 10, 11].map((s) => ({ key: "loss", ...pt(s) })));
    expect(store.get("r", "loss").data.steps).toEqual([...Array(12).keys()]);
    expect(seen).toHaveBeenCalled();
  });

  it("after a reconnect, fetches only the steps after the last one held", async () => {
    const state = { upTo: 10 };
    const calls = fakeServer(state);
    const store = new SeriesStore();
    store.subscribe("r", "loss", () => {});
    await settle();
    state.upTo = 15; // logged while the socket was down
    store.resync(new Set(["r"]));
    await settle();
    await settle();
    expect(calls.at(-1)!.searchParams.get("minStep")).toBe("10");
    expect(store.get("r", "loss").data.steps).toEqual([...Array(15).keys()]);
  });

  it("a subscription acked while the first fetch is in flight catches up once it lands", async () => {
    const state = { upTo: 5 };
    const calls = fakeServer(state);
    const store = new SeriesStore();
    store.subscribe("r", "loss", () => {}); // fetch in flight, snapshot 0..4
    store.resync(undefined, Date.now() + 1); // ack: the fetch started before the subscribe
    state.upTo = 8;
    for (let i = 0; i < 5; i++) await settle();
    expect(calls.length).toBe(2);
    expect(store.get("r", "loss").data.steps).toEqual([...Array(8).keys()]);
  });

  it("falls back to a full load when the missed range comes back downsampled", async () => {
    const state: { upTo: number; downsampleOver?: number } = { upTo: 4 };
    const calls = fakeServer(state);
    const store = new SeriesStore();
    store.subscribe("r", "loss", () => {});
    await settle();
    state.upTo = 100;
    state.downsampleOver = 50;
    store.resync();
    for (let i = 0; i < 6; i++) await settle();
    expect(calls.length).toBe(3);
    expect(calls[2]!.searchParams.get("minStep")).toBeNull();
  });

  it("forgets entries no chart shows", async () => {
    fakeServer({ upTo: 3 });
    const store = new SeriesStore();
    const off = store.subscribe("r", "loss", () => {});
    await settle();
    off();
    store.resync();
    expect(store.get("r", "loss").data.steps).toEqual([]);
  });
});
