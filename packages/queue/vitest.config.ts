import { integrationConfig } from "../../vitest.shared.js";

export default integrationConfig({ testTimeout: 60_000, maxWorkers: 1 });
