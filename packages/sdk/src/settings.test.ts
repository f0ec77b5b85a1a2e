import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeHost, resolveCredentials } from "./settings.js";
import { parseNetrc, writeNetrc } from "./netrc.js";
import { maskArgv } from "./metadata.js";
import { backoffMs, retryAfter } from "./http.js";

describe("settings", () => {
  it("normalises hosts like the official SDK (scheme, host, port only)", () => {
    expect(normalizeHost("http://h.example:8000/api/")).toBe("http://h.example:8000");
    expect(normalizeHost("localhost:8000")).toBe("http://localhost:8000");
    expect(normalizeHost("10.0.0.2")).toBe("http://10.0.0.2");
    expect(normalizeHost("swanlab.example.com")).toBe("https://swanlab.example.com");
    expect(() => normalizeHost("ftp://x")).toThrow(/http/);
  });

  it("parses netrc (old /api machines included) and prefers env over the file, file only for its host", () => {
    expect(parseNetrc("machine http://a:1/api\n\tlogin http://a:1\n\tpassword k1\n")).toEqual([{ machine: "http://a:1", login: "http://a:1", password: "k1" }]);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "home-"));
    const env = { HOME: home } as NodeJS.ProcessEnv;
    writeNetrc({ machine: "http://a:1", login: "http://a:1", password: "k1" }, env);
    expect(resolveCredentials({}, env)).toEqual({ host: "http://a:1", apiKey: "k1", source: "netrc" });
    expect(resolveCredentials({}, { ...env, SWANLAB_API_KEY: "k2" }).apiKey).toBe("k2");
    expect(resolveCredentials({}, { ...env, SWANLAB_HOST: "http://b:2" })).toEqual({ host: "http://b:2", apiKey: undefined, source: "none" });
  });

  it("masks secrets in the command line", () => {
    expect(maskArgv(["node", "t.js", "--api-key", "abc123", "--token=xyz", "HF_TOKEN=s3cr3t", "--lr", "0.1", "https://u:pw@h/x", "mykey1234"], ["mykey1234"])).toEqual([
      "node", "t.js", "--api-key", "***", "--token=***", "HF_TOKEN=***", "--lr", "0.1", "https://u:***@h/x", "***",
    ]);
  });

  it("backs off exponentially with jitter, honouring Retry-After", () => {
    for (let a = 0; a < 20; a++) {
      const lo = backoffMs(a, undefined, () => 0);
      const hi = backoffMs(a, undefined, () => 1);
      expect(hi).toBe(Math.min(30_000, 500 * 2 ** a));
      expect(lo).toBe(hi / 2);
    }
    expect(backoffMs(0, 5000, () => 0)).toBe(5000);
    expect(retryAfter("3")).toBe(3000);
    expect(retryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
  });
});
