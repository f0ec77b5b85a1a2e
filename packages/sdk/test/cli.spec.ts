// `swanlab login / verify / logout` as real subprocesses against a real server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, freePort, startInProcess, type TestServer, type TestUser } from "./server.js";
import { swanlab } from "./cli.js";

let server: TestServer;
let user: TestUser;
let home: string;
const env = () => ({ HOME: home });
const netrc = () => path.join(home, ".swanlab", ".netrc");

beforeAll(async () => {
  server = await startInProcess();
  user = await createUser(server.url);
});
afterAll(async () => server?.close());

describe("swanlab login", () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "swanlab-home-"));
  });

  it("reads the key from stdin, verifies it and writes ~/.swanlab/.netrc with mode 0600", async () => {
    const r = await swanlab(["login", "--host", server.url], { env: env(), input: `${user.key}\n` });
    expect(r.stderr).toContain(`${server.url}/settings`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Logged in as ${user.username} to ${server.url}`);
    expect(fs.statSync(netrc()).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(netrc(), "utf8")).toBe(`machine ${server.url}\n\tlogin ${server.url}\n\tpassword ${user.key}\n`);
  });

  it("verify reads the netrc and prints the user and host", async () => {
    const r = await swanlab(["verify"], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Logged in as ${user.username} to ${server.url}`);
  });

  it("does nothing when already logged in, unless --relogin", async () => {
    const before = fs.readFileSync(netrc(), "utf8");
    const r = await swanlab(["login", "--host", server.url, "--api-key", "somethingelse"], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("already logged in");
    expect(fs.readFileSync(netrc(), "utf8")).toBe(before);
  });

  it("rejects a wrong key with 'API key rejected by <host>', exit 1, no stack, netrc untouched", async () => {
    const before = fs.readFileSync(netrc(), "utf8");
    const r = await swanlab(["login", "--relogin", "--host", server.url, "--api-key", "wrongwrongwrongwrong1"], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`swanlab: API key rejected by ${server.url}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(netrc(), "utf8")).toBe(before);
  });

  it("a wrong SWANLAB_API_KEY overrides the file for verify", async () => {
    const r = await swanlab(["verify"], { env: { ...env(), SWANLAB_API_KEY: "wrongwrongwrongwrong1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`API key rejected by ${server.url}`);
  });

  it("an unreachable host gives a clear message and exit 1", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await swanlab(["login", "--relogin", "--host", dead, "--api-key", user.key], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach ${dead}: connection refused (is the server running?)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("--relogin with --api-key by flag replaces the entry; logout removes it", async () => {
    const r = await swanlab(["login", "--relogin", "--host", `${server.url}/api/`, "--api-key", user.key], { env: env() });
    expect(r.code).toBe(0);
    expect(fs.statSync(netrc()).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(netrc(), "utf8")).toContain(`machine ${server.url}\n`);
    const out = await swanlab(["logout"], { env: env() });
    expect(out.code).toBe(0);
    expect(fs.existsSync(netrc())).toBe(false);
    const v = await swanlab(["verify"], { env: env() });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("not logged in");
  });

  it("SWANLAB_SAVE_DIR moves the credential folder", async () => {
    const dir = path.join(home, "elsewhere");
    const r = await swanlab(["login", "--host", server.url], { env: { ...env(), SWANLAB_SAVE_DIR: dir }, input: user.key });
    expect(r.code).toBe(0);
    expect(fs.statSync(path.join(dir, ".netrc")).mode & 0o777).toBe(0o600);
  });

  it("--help lists the commands; an unknown command is a one-line error", async () => {
    const h = await swanlab(["--help"], { env: env() });
    expect(h.code).toBe(0);
    for (const c of ["login", "logout", "verify", "sync"]) expect(h.stdout).toContain(`swanlab ${c}`);
    const u = await swanlab(["frobnicate"], { env: env() });
    expect(u.code).toBe(1);
    expect(u.stderr.trim()).toBe("swanlab: unknown command 'frobnicate' (see swanlab --help)");
  });
});
