// @swanhouse/sdk: log metrics, texts and console lines from any Node trainer to a Swanhouse server.
export { init, Run, RunConfig, newRunId, type InitOptions, type LogValue, type Mode } from "./run.js";
export { Text } from "./text.js";
export { syncRunDir, findRunDirs, type SyncResult } from "./sync.js";
export { resolveCredentials, normalizeHost, UserError } from "./settings.js";
export { HttpError, NetworkError, SDK_VERSION } from "./http.js";
