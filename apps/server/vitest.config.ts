import { integrationConfig } from "../../vitest.shared.js";

// 2-core machines: files run in parallel, each on its own cloned database.
export default integrationConfig({ testTimeout: 60_000, maxWorkers: 2 });
