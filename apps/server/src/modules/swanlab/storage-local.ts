// Object storage on local disk under `$SWANHOUSE_DATA_DIR/objects` (the default backend).
// Keys are relative slash paths, checked to stay inside the root.
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { ObjectStorage } from "./storage.js";

export function createLocalStorage(rootDir: string): ObjectStorage {
  const root = resolve(rootDir);

  function pathOf(key: string): string {
    const p = resolve(join(root, ...key.split("/")));
    if (!p.startsWith(root + sep)) throw new Error(`storage key escapes the root: ${key}`);
    return p;
  }
  // A key whose parent is a file, or a name too long for the disk, is as absent as a missing one.
  const missing = (err: unknown) => ["ENOENT", "ENOTDIR", "ENAMETOOLONG"].includes((err as { code?: string }).code ?? "");

  return {
    async put(key, data) {
      const p = pathOf(key);
      await mkdir(dirname(p), { recursive: true });
      // Write then rename: a reader never sees half a file, a re-sent PUT replaces it whole.
      const tmp = `${p}.${process.pid}.${Date.now()}.part`;
      await writeFile(tmp, data);
      await rename(tmp, p);
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async size(key) {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? s.size : null;
      } catch (err) {
        if (missing(err)) return null;
        throw err;
      }
    },
    async concat(from, to) {
      const dst = pathOf(to);
      await mkdir(dirname(dst), { recursive: true });
      const tmp = `${dst}.${process.pid}.${Date.now()}.part`;
      await writeFile(tmp, Buffer.alloc(0));
      try {
        for (const key of from) await appendFile(tmp, await readFile(pathOf(key)));
      } catch (err) {
        await rm(tmp, { force: true });
        if (missing(err)) return false;
        throw err;
      }
      await rename(tmp, dst);
      return true;
    },
    async remove(key) {
      await rm(pathOf(key), { force: true, recursive: true });
    },
    async move(from, to) {
      const dst = pathOf(to);
      await mkdir(dirname(dst), { recursive: true });
      try {
        await rename(pathOf(from), dst);
        return true;
      } catch (err) {
        if (missing(err)) return false;
        throw err;
      }
    },
  };
}
