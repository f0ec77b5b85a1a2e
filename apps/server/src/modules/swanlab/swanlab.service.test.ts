// Pure conversions between the SwanLab wire format and the house model.
import { describe, expect, it } from "vitest";
import { decodeKeySegment, encodeKeySegment, mediaTypeOf, toEpochMs, toMetricValue, unwrapConfig, wrapConfig } from "./swanlab.service.js";
import { stripNul } from "../../lib/text.js";

describe("config wrapping", () => {
  it("removes {value, sort, desc} and keeps plain values", () => {
    expect(unwrapConfig({ b: { value: 2, sort: 1, desc: "" }, a: { value: { x: [1] }, sort: 0, desc: "d" }, raw: 3 })).toEqual({ a: { x: [1] }, b: 2, raw: 3 });
    expect(Object.keys(unwrapConfig({ b: { value: 2, sort: 1 }, a: { value: 1, sort: 0 } }))).toEqual(["a", "b"]);
  });
  it("wraps back for the resume answer", () => {
    expect(wrapConfig({ lr: 0.1, m: null })).toEqual({ lr: { value: 0.1, sort: 0, desc: "" }, m: { value: null, sort: 1, desc: "" } });
    expect(unwrapConfig(wrapConfig({ lr: 0.1, nested: { a: 1 } }))).toEqual({ lr: 0.1, nested: { a: 1 } });
  });
});

describe("values and times", () => {
  it("maps the SDK's non-finite spellings", () => {
    expect([0.5, "NaN", "nan", "INF", "-INF", "inf", "Infinity", "1e3"].map(toMetricValue)).toEqual([0.5, "NaN", "NaN", "Infinity", "-Infinity", "Infinity", "Infinity", 1000]);
    expect([null, "abc", "", {}, true].map(toMetricValue)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
  it("parses 0.7 isoformat and 0.9 protobuf timestamps", () => {
    expect(toEpochMs("2026-08-21T12:00:00.123456+00:00")).toBe(Date.parse("2026-08-21T12:00:00.123Z"));
    expect(toEpochMs("2026-08-21T12:00:00.123456789Z")).toBe(Date.parse("2026-08-21T12:00:00.123Z"));
    expect(toEpochMs("2026-08-21T14:00:00+02:00")).toBe(Date.parse("2026-08-21T12:00:00Z"));
    expect(toEpochMs("2026-08-21T12:00:00")).toBe(Date.parse("2026-08-21T12:00:00Z"));
    expect(toEpochMs("yesterday")).toBeUndefined();
  });
});

describe("media paths", () => {
  it("encodes a key as one reversible URL-safe segment", () => {
    for (const key of ["val/img", "a~2Fb", "with space", "ünï/cöde", "x%y", "(a)!*'"]) {
      const seg = encodeKeySegment(key);
      expect(seg).toMatch(/^[A-Za-z0-9._~-]+$/);
      expect(decodeKeySegment(seg)).toBe(key);
    }
    expect(encodeKeySegment("a/")).not.toBe(encodeKeySegment("a~2F"));
  });
  it("knows common media types", () => {
    expect(mediaTypeOf("val%2Fimg/image-step3-0123.PNG")).toEqual({ ext: ".png", contentType: "image/png", kind: "image" });
    expect(mediaTypeOf("media/audio/001-ab.wav").kind).toBe("audio");
    expect(mediaTypeOf("noext")).toEqual({ ext: "", contentType: null, kind: "other" });
  });
});

describe("NUL characters (PostgreSQL text and jsonb refuse them)", () => {
  it("are removed from strings and keys at any depth", () => {
    expect(stripNul({ "a\u0000b": ["x\u0000", { y: "\u0000z" }], n: 1, t: null })).toEqual({ ab: ["x", { y: "z" }], n: 1, t: null });
  });
});
