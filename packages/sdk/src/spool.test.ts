import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Spool, type RunFile } from "./spool.js";

const runFile = (id: string): RunFile => ({ version: 1, id, mode: "offline", host: "", create: { project: "p", id }, createdAt: "", pid: 1, hostname: "h" });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "spool-"));

describe("Spool", () => {
  it("reads log entries up to a limit, then control records one at a time, with byte offsets", () => {
    const s = new Spool(path.join(tmp(), "r"));
    s.open(runFile("r"));
    for (let i = 0; i < 5; i++) s.append({ t: "m", k: "a", s: i, v: i, ts: 1 });
    s.append({ t: "u", b: { config: { lr: 1 } } });
    s.append({ t: "x", k: "t", s: 0, i: 0, x: "é", c: "cap", ts: 2 });
    s.append({ t: "f", state: "finished" });
    s.flush();
    const a = s.read(0, 3);
    expect(a.kind === "log" && a.body.metrics.map((m) => m.step)).toEqual([0, 1, 2]);
    const b = s.read(a.end, 10);
    expect(b.kind === "log" && b.entries).toBe(2);
    const c = s.read(b.end, 10);
    expect(c).toMatchObject({ kind: "update", body: { config: { lr: 1 } } });
    const d = s.read(c.end, 10);
    expect(d.kind === "log" && d.body.texts).toEqual([{ key: "t", step: 0, index: 0, text: "é", caption: "cap", time: 2 }]);
    const e = s.read(d.end, 10);
    expect(e).toMatchObject({ kind: "finish", state: "finished" });
    expect(e.end).toBe(fs.statSync(s.spoolFile).size);
    expect(s.read(e.end, 10)).toEqual({ kind: "empty", end: e.end });
  });

  it("ignores a torn last line and cuts it before appending again", () => {
    const dir = path.join(tmp(), "r");
    const s = new Spool(dir);
    s.open(runFile("r"));
    s.append({ t: "m", k: "a", s: 0, v: 1, ts: 1 });
    s.close();
    fs.appendFileSync(s.spoolFile, '{"t":"m","k":"a","s":1,');
    const r = new Spool(dir);
    expect(r.read(0, 10)).toMatchObject({ kind: "log", entries: 1 });
    r.openForAppend();
    r.append({ t: "m", k: "a", s: 2, v: 3, ts: 1 });
    r.close();
    const all = r.read(0, 10);
    expect(all.kind === "log" && all.body.metrics.map((m) => m.step)).toEqual([0, 2]);
  });

  it("keeps the ack offset across instances", () => {
    const dir = path.join(tmp(), "r");
    const s = new Spool(dir);
    s.open(runFile("r"));
    expect(s.readAck()).toBe(0);
    s.append({ t: "m", k: "a", s: 0, v: 1, ts: 1 });
    s.flush();
    s.writeAck(s.flushedSize);
    expect(new Spool(dir).readAck()).toBe(s.flushedSize);
  });
});

it("appendMetric writes the same line as append", () => {
  const s = new Spool(path.join(tmp(), "r"));
  s.open(runFile("r"));
  s.appendMetric('we"ird/key', 3, "NaN", 5);
  s.appendMetric("a", 4, 1e-7, 6);
  s.append({ t: "m", k: 'we"ird/key', s: 3, v: "NaN", ts: 5 });
  s.append({ t: "m", k: "a", s: 4, v: 1e-7, ts: 6 });
  s.close();
  const lines = fs.readFileSync(s.spoolFile, "utf8").trim().split("\n");
  expect(lines[0]).toBe(lines[2]);
  expect(lines[1]).toBe(lines[3]);
});
