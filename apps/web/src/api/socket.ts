// One socket.io connection for the tab. Subscriptions are reference-counted and re-sent after every
// reconnect; each acked (re)subscribe fires `onResync` so data views refetch what they fetched before it
// (missed pushes while connecting or while the socket was down; merging drops the duplicates). Status drives the "connection lost" banner.
import { io, type Socket } from "socket.io-client";
import { LogsAppendedEvent, MetricsAppendedEvent, RunDeletedEvent, RunUpdatedEvent, TextsAppendedEvent, type ClientToServerEvents, type ServerToClientEvents, type SubscribeBody } from "@swanhouse/contracts";

export type SocketStatus = "connecting" | "connected" | "lost";
type Handlers = {
  metrics: (e: MetricsAppendedEvent) => void;
  texts: (e: TextsAppendedEvent) => void;
  logs: (e: LogsAppendedEvent) => void;
  run: (e: RunUpdatedEvent) => void;
  runDeleted: (e: RunDeletedEvent) => void;
};

class Realtime {
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  private subs = new Map<string, { body: SubscribeBody; refs: number; acked: boolean }>();
  private statusListeners = new Set<() => void>();
  private resyncListeners = new Set<(body: SubscribeBody, ackedAt: number) => void>();
  private handlers = new Set<Partial<Handlers>>();
  private hadConnection = false;
  status: SocketStatus = "connecting";

  private ensure() {
    if (this.socket) return this.socket;
    const s: Socket<ServerToClientEvents, ClientToServerEvents> = io({ path: "/socket.io", withCredentials: true, reconnectionDelay: 300, reconnectionDelayMax: 3000 });
    this.socket = s;
    s.on("connect", () => {
      this.setStatus("connected");
      const reconnect = this.hadConnection;
      this.hadConnection = true;
      for (const [id, sub] of this.subs) this.sendSubscribe(id, sub.body, reconnect);
    });
    s.on("disconnect", () => {
      for (const sub of this.subs.values()) sub.acked = false;
      this.setStatus("lost");
    });
    s.on("connect_error", () => this.setStatus(this.hadConnection ? "lost" : "connecting"));
    // Parsed with the contracts schemas: a malformed push is dropped rather than corrupting a chart.
    s.on("metrics:appended", (e) => this.dispatch("metrics", MetricsAppendedEvent.safeParse(e)));
    s.on("texts:appended", (e) => this.dispatch("texts", TextsAppendedEvent.safeParse(e)));
    s.on("logs:appended", (e) => this.dispatch("logs", LogsAppendedEvent.safeParse(e)));
    s.on("run:updated", (e) => this.dispatch("run", RunUpdatedEvent.safeParse(e)));
    s.on("run:deleted", (e) => this.dispatch("runDeleted", RunDeletedEvent.safeParse(e)));
    return s;
  }

  private dispatch<K extends keyof Handlers>(kind: K, parsed: { success: boolean; data?: Parameters<Handlers[K]>[0] }) {
    if (!parsed.success || !parsed.data) return;
    for (const h of this.handlers) (h[kind] as ((e: unknown) => void) | undefined)?.(parsed.data);
  }

  private sendSubscribe(id: string, body: SubscribeBody, reconnect: boolean) {
    const sentAt = Date.now();
    this.socket?.emit("subscribe", body, (ack) => {
      const sub = this.subs.get(id);
      if (!sub || !ack.ok) return;
      sub.acked = true;
      // Anything fetched before the subscribe was sent may have missed pushes: listeners refetch it.
      for (const l of this.resyncListeners) l(body, reconnect ? Infinity : sentAt);
    });
  }

  private setStatus(s: SocketStatus) {
    if (this.status === s) return;
    this.status = s;
    for (const l of this.statusListeners) l();
  }

  subscribe(body: SubscribeBody): () => void {
    const s = this.ensure();
    const id = JSON.stringify(body);
    const existing = this.subs.get(id);
    if (existing) existing.refs++;
    else {
      this.subs.set(id, { body, refs: 1, acked: false });
      if (s.connected) this.sendSubscribe(id, body, false);
    }
    return () => {
      const sub = this.subs.get(id);
      if (!sub) return;
      if (--sub.refs > 0) return;
      this.subs.delete(id);
      if (s.connected) s.emit("unsubscribe", body);
    };
  }

  on(h: Partial<Handlers>): () => void {
    this.ensure();
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  onStatus(l: () => void): () => void {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  }
  onResync(l: (body: SubscribeBody, ackedAt: number) => void): () => void {
    this.resyncListeners.add(l);
    return () => this.resyncListeners.delete(l);
  }
  /** True once connected and every subscription is acked (tests wait for it before logging). */
  get live(): boolean {
    return this.status === "connected" && [...this.subs.values()].every((s) => s.acked);
  }
  /** For tests: drop the transport as a network failure would. */
  simulateDrop() {
    this.socket?.io.engine?.close();
  }
}

export const realtime = new Realtime();

declare global {
  interface Window {
    __swanhouseSocket?: Realtime;
  }
}
// Documented test hook (apps/web/README.md): Playwright drops the socket to check the reconnect path.
if (typeof window !== "undefined") window.__swanhouseSocket = realtime;
