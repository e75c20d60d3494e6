import { runCacheDriverConformance } from "../src/conformance.js";
import { MemoryCacheDriver } from "../src/index.js";

runCacheDriverConformance("memory", () => new MemoryCacheDriver());
