// API keys: 21 ASCII letters/digits (the format the official SwanLab SDK accepts), stored hashed,
// shown once at creation.
import { z } from "zod";
import { IsoDate } from "./common.js";

export const API_KEY_PATTERN = /^[A-Za-z0-9]{21}$/;

export const CreateApiKeyBody = z.object({ name: z.string().trim().min(1).max(100) });
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: IsoDate,
  lastUsedAt: IsoDate.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedApiKeyResponse = z.object({ apiKey: ApiKey, key: z.string() });
export type CreatedApiKeyResponse = z.infer<typeof CreatedApiKeyResponse>;
export const ListApiKeysResponse = z.object({ apiKeys: z.array(ApiKey) });
export type ListApiKeysResponse = z.infer<typeof ListApiKeysResponse>;
export const ApiKeyParams = z.object({ id: z.uuid() });
