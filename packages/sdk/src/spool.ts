// The run folder (`swanlog/<id>/`): run.json (how to create the run, which host), spool.jsonl (every
// record, append-only, one JSON line each) and ack.json (byte offset up to which the server has
// acknowledged). Anything after the ack offset is re-sent on resume or by `swanlab sync`; the server
// ignores duplicates (points by key+step, texts by key+step+index, log lines by seq).
import fs from "node:fs";
import path from "node:path";
import type { CreateRunBody, LogBody, MetricValue, RunStatus, UpdateRunBody } from "@swanhouse/contracts";

export type FinalState = Exclude<RunStatus, "running">;

/** One spool line. Short field names: a 100k-point run is a few MB. `ts` is epoch ms. */
export type SpoolRecord =
  | { t: "m"; k: string; s: number; v: MetricValue; ts: number }
  | { t: "x"; k: string; s: number; i: number; x: string; c?: string; ts: number }
  | { t: "l"; q: number; lv: "debug" | "info" | "warning" | "error"; m: string; ts: number }
  | { t: "u"; b: UpdateRunBody }
  | { t: "f"; state: FinalState };

export type RunFile = {
  version: 1;
  id: string;
  mode: "cloud" | "offline";
  /** The host of a cloud run; empty for offline runs (sync sends them to the logged-in host). */
  host: string;
  create: CreateRunBody;
  createdAt: string;
  pid: number;
  hostname: string;
};

/** A batch read from the spool: either log entries (≤ maxEntries) or one control record. */
export type Batch =
  | { kind: "log"; body: Required<LogBody>; entries: number; end: number }
  | { kind: "update"; body: UpdateRunBody; end: number }
  | { kind: "finish"; state: FinalState; end: number }
  | { kind: "empty"; end: number };

const FLUSH_BYTES = 256 * 1024;

export class Spool {
  readonly spoolFile: string;
  readonly ackFile: string;
  readonly runFile: string;
  private fd: number | undefined;
  private buffer: string[] = [];
  private bufferBytes = 0;
  private keyJson = new Map<string, string>();
  /** Bytes on disk (flushed). */
  private size: number;

  constructor(readonly dir: string) {
    this.spoolFile = path.join(dir, "spool.jsonl");
    this.ackFile = path.join(dir, "ack.json");
    this.runFile = path.join(dir, "run.json");
    this.size = fileSize(this.spoolFile);
  }

  static exists(dir: string): boolean {
    return fs.existsSync(path.join(dir, "run.json"));
  }

  /** Creates the folder and run.json (or rewrites run.json on resume); opens the spool for appending. */
  open(run: RunFile): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeAtomic(this.runFile, JSON.stringify(run, null, 2) + "\n");
    this.openForAppend();
  }

  readRun(): RunFile {
    return JSON.parse(fs.readFileSync(this.runFile, "utf8")) as RunFile;
  }

  /** A crash mid-write can leave half a line: cut it, so the next append starts on a fresh line. */
  openForAppend(): void {
    if (this.fd !== undefined) return;
    this.size = fileSize(this.spoolFile);
    if (this.size > 0) {
      const fd = fs.openSync(this.spoolFile, "r+");
      try {
        const tail = Buffer.alloc(Math.min(this.size, 1 << 20));
        let end = this.size;
        let keep = -1;
        while (end > 0 && keep < 0) {
          const len = Math.min(tail.length, end);
          fs.readSync(fd, tail, 0, len, end - len);
          const nl = tail.subarray(0, len).lastIndexOf(10);
          if (nl >= 0) keep = end - len + nl + 1;
          else end -= len;
        }
        if (keep < 0) keep = 0;
        if (keep !== this.size) {
          fs.ftruncateSync(fd, keep);
          this.size = keep;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    this.fd = fs.openSync(this.spoolFile, "a");
  }

  append(record: SpoolRecord): void {
    this.push(JSON.stringify(record) + "\n");
  }

  /** The hot path of run.log(): the same line as append({ t: "m", … }) without building an object. */
  appendMetric(key: string, step: number, value: MetricValue, ts: number): void {
    let k = this.keyJson.get(key);
    if (k === undefined) this.keyJson.set(key, (k = JSON.stringify(key)));
    this.push(`{"t":"m","k":${k},"s":${step},"v":${typeof value === "number" ? value : `"${value}"`},"ts":${ts}}\n`);
  }

  private push(line: string): void {
    this.buffer.push(line);
    this.bufferBytes += line.length;
    if (this.bufferBytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes buffered lines to the file (synchronous: also called from exit handlers). */
  flush(): void {
    if (!this.buffer.length || this.fd === undefined) return;
    const data = Buffer.from(this.buffer.join(""), "utf8");
    this.buffer = [];
    this.bufferBytes = 0;
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    this.size += data.length;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** Flushed bytes. */
  get flushedSize(): number {
    return this.size;
  }
  get hasBuffered(): boolean {
    return this.buffer.length > 0;
  }

  readAck(): number {
    try {
      const v = JSON.parse(fs.readFileSync(this.ackFile, "utf8")) as { offset?: unknown };
      return typeof v.offset === "number" && v.offset >= 0 ? Math.min(v.offset, fileSize(this.spoolFile)) : 0;
    } catch {
      return 0;
    }
  }

  writeAck(offset: number): void {
    writeAtomic(this.ackFile, JSON.stringify({ offset }) + "\n");
  }

  /**
   * Reads the records after `offset`: consecutive log entries up to `maxEntries`, or one update/finish.
   * Only complete lines count (the writer may be mid-line).
   */
  read(offset: number, maxEntries: number): Batch {
    const size = fileSize(this.spoolFile);
    if (offset >= size) return { kind: "empty", end: offset };
    const body: Required<LogBody> = { metrics: [], texts: [], logs: [] };
    let entries = 0;
    let pos = offset;
    let chunk = 4 << 20;
    const fd = fs.openSync(this.spoolFile, "r");
    try {
      outer: while (pos < size && entries < maxEntries) {
        const len = Math.min(chunk, size - pos);
        const buf = Buffer.allocUnsafe(len);
        const got = fs.readSync(fd, buf, 0, len, pos);
        let start = 0;
        let consumed = 0;
        while (entries < maxEntries) {
          const nl = buf.indexOf(10, start);
          if (nl < 0 || nl >= got) break;
          const rec = parseLine(buf.toString("utf8", start, nl));
          const lineEnd = nl + 1;
          if (rec && (rec.t === "u" || rec.t === "f")) {
            if (entries > 0) {
              pos += consumed;
              break outer;
            }
            const end = pos + lineEnd;
            return rec.t === "u" ? { kind: "update", body: rec.b, end } : { kind: "finish", state: rec.state, end };
          }
          if (rec?.t === "m") body.metrics.push({ key: rec.k, step: rec.s, value: rec.v, time: rec.ts });
          else if (rec?.t === "x") body.texts.push({ key: rec.k, step: rec.s, index: rec.i, text: rec.x, ...(rec.c === undefined ? {} : { caption: rec.c }), time: rec.ts });
          else if (rec?.t === "l") body.logs.push({ level: rec.lv, message: rec.m, seq: rec.q, time: rec.ts });
          if (rec) entries++;
          start = lineEnd;
          consumed = lineEnd;
        }
        if (consumed === 0) {
          // One line longer than the chunk (a big text): read more at once. A line never ending means a
          // torn write at the very end; stop before it.
          if (len === size - pos) break;
          chunk *= 2;
          continue;
        }
        pos += consumed;
      }
    } finally {
      fs.closeSync(fd);
    }
    return entries ? { kind: "log", body, entries, end: pos } : { kind: "empty", end: pos };
  }

  /** Scans records after `offset` (for resume: steps and log seqs not yet on the server). */
  *records(offset = 0): Generator<SpoolRecord> {
    let pos = offset;
    for (;;) {
      const b = this.read(pos, 10_000);
      if (b.kind === "empty" && b.end === pos) return;
      if (b.kind === "log") {
        for (const m of b.body.metrics) yield { t: "m", k: m.key, s: m.step, v: m.value, ts: Number(m.time) };
        for (const x of b.body.texts) yield { t: "x", k: x.key, s: x.step, i: x.index ?? 0, x: x.text, ts: Number(x.time) };
        for (const l of b.body.logs) yield { t: "l", q: l.seq ?? 0, lv: l.level, m: l.message, ts: Number(l.time) };
      } else if (b.kind === "update") yield { t: "u", b: b.body };
      else if (b.kind === "finish") yield { t: "f", state: b.state };
      pos = b.end;
    }
  }
}

function parseLine(line: string): SpoolRecord | undefined {
  try {
    return JSON.parse(line) as SpoolRecord;
  } catch {
    return undefined;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
