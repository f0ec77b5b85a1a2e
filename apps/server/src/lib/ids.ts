// Ids and secrets. Run ids look like SwanLab's (21 lowercase letters/digits); API keys are 21 ASCII
// letters/digits, the format the official SwanLab SDK accepts.
import { createHash, randomBytes, randomUUID } from "node:crypto";

const LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomFrom(alphabet: string, length: number): string {
  // Rejection sampling keeps the distribution uniform.
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out.push(alphabet[b % alphabet.length]!);
    }
  }
  return out.join("");
}

export const newUuid = () => randomUUID();
export const newRunId = () => randomFrom(LOWER_DIGITS, 21);
export const newApiKey = () => randomFrom(ALNUM, 21);
export const newSessionToken = () => randomBytes(32).toString("base64url");
/** 20 letters/digits (~119 bits): easy to copy from a terminal, changed in Settings afterwards. */
export const newTemporaryPassword = () => randomFrom(ALNUM, 20);
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
