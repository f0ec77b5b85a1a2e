import { integrationConfig } from "../../vitest.shared.js";

export default integrationConfig({ testTimeout: 120_000, maxWorkers: 1 });
