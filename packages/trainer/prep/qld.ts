// The .qld token dataset file (DATA_FORMAT.md): encode to one Buffer, decode back (for tests and tools).
// Little-endian, sections back to back with no padding; the C++ trainer reads the same layout.

import type { EncodedSample } from "./prompt.js";

export const QLD_MAGIC = "QLD1";
export const QLD_VERSION = 1;
const FLAG_DECODE_TABLE = 1;

export interface QldSample {
  tokens: Int32Array;
  labels: Int32Array;
  promptLen: number;
  prompt: string;
  answer: string;
}

export interface QldFile {
  samples: QldSample[];
  /** Raw bytes of each token id, index = id; absent when the file has no decode table. */
  decodeTable?: Uint8Array[];
}

type Writable = Pick<EncodedSample, "tokens" | "labels" | "promptLen" | "prompt" | "answer">;

export function encodeQld(samples: readonly Writable[], decodeTable?: readonly Uint8Array[]): Buffer {
  const n = samples.length;
  const utf8 = new TextEncoder();
  const texts = samples.flatMap((s) => [utf8.encode(s.prompt), utf8.encode(s.answer)]);
  const nTok = samples.reduce((acc, s) => acc + s.tokens.length, 0);
  const textBytes = texts.reduce((acc, t) => acc + t.length, 0);
  let size = 16 + 8 * (n + 1) + 8 * nTok + 4 * n + 8 * (2 * n + 1) + textBytes;
  if (decodeTable !== undefined) size += 4 + 8 * (decodeTable.length + 1) + decodeTable.reduce((a, b) => a + b.length, 0);

  const w = new Writer(size);
  w.bytes(utf8.encode(QLD_MAGIC));
  w.u32(QLD_VERSION);
  w.u32(n);
  w.u32(decodeTable === undefined ? 0 : FLAG_DECODE_TABLE);
  w.offsets(samples.map((s) => s.tokens.length));
  for (const s of samples) {
    if (s.labels.length !== s.tokens.length) throw new Error("labels and tokens differ in length");
    for (const t of s.tokens) w.i32(t);
  }
  for (const s of samples) for (const l of s.labels) w.i32(l);
  for (const s of samples) w.u32(s.promptLen);
  w.offsets(texts.map((t) => t.length));
  for (const t of texts) w.bytes(t);
  if (decodeTable !== undefined) {
    w.u32(decodeTable.length);
    w.offsets(decodeTable.map((t) => t.length));
    for (const t of decodeTable) w.bytes(t);
  }
  if (w.pos !== size) throw new Error(`qld size mismatch: wrote ${w.pos} of ${size}`);
  return w.buf;
}

export function decodeQld(buf: Uint8Array): QldFile {
  const r = new Reader(buf);
  const magic = new TextDecoder().decode(r.bytes(4));
  if (magic !== QLD_MAGIC) throw new Error(`not a .qld file (magic ${JSON.stringify(magic)})`);
  const version = r.u32();
  if (version !== QLD_VERSION) throw new Error(`unsupported .qld version ${version}`);
  const n = r.u32();
  const flags = r.u32();
  const tokOff = r.offsets(n + 1);
  const nTok = tokOff[n] ?? 0;
  const tokens = r.i32s(nTok);
  const labels = r.i32s(nTok);
  const promptLens = Array.from({ length: n }, () => r.u32());
  const textOff = r.offsets(2 * n + 1);
  const textBase = r.pos;
  r.bytes(textOff[2 * n] ?? 0);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const text = (j: number) => utf8.decode(buf.subarray(textBase + (textOff[j] ?? 0), textBase + (textOff[j + 1] ?? 0)));
  const samples = Array.from({ length: n }, (_, i) => ({
    tokens: tokens.slice(tokOff[i], tokOff[i + 1]),
    labels: labels.slice(tokOff[i], tokOff[i + 1]),
    promptLen: promptLens[i] ?? 0,
    prompt: text(2 * i),
    answer: text(2 * i + 1),
  }));
  let decodeTable: Uint8Array[] | undefined;
  if (flags & FLAG_DECODE_TABLE) {
    const v = r.u32();
    const off = r.offsets(v + 1);
    const base = r.pos;
    r.bytes(off[v] ?? 0);
    decodeTable = Array.from(
      { length: v },
      (_, id) => new Uint8Array(buf.subarray(base + (off[id] ?? 0), base + (off[id + 1] ?? 0))),
    );
  }
  if (r.pos !== buf.length) throw new Error(`.qld has ${buf.length - r.pos} trailing bytes`);
  return decodeTable === undefined ? { samples } : { samples, decodeTable };
}

class Writer {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u32(v: number) {
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }
  i32(v: number) {
    this.pos = this.buf.writeInt32LE(v, this.pos);
  }
  bytes(b: Uint8Array) {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** u64[len+1] prefix sums of the lengths. */
  offsets(lengths: readonly number[]) {
    let acc = 0n;
    this.pos = this.buf.writeBigUInt64LE(acc, this.pos);
    for (const l of lengths) this.pos = this.buf.writeBigUInt64LE((acc += BigInt(l)), this.pos);
  }
}

class Reader {
  private readonly view: DataView;
  pos = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number) {
    if (this.pos + n > this.buf.length) throw new Error(`.qld truncated at byte ${this.pos}`);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  i32s(n: number): Int32Array {
    this.need(4 * n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getInt32(this.pos + 4 * i, true);
    this.pos += 4 * n;
    return out;
  }
  offsets(count: number): number[] {
    this.need(8 * count);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(Number(this.view.getBigUint64(this.pos + 8 * i, true)));
    this.pos += 8 * count;
    return out;
  }
}
