// The npm package's entry for bun (chosen by the "bun" export condition): installs the bun adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { bunRuntime } from "./mod.ts";

setRuntime(bunRuntime);
export * from "../../src/public.ts";
// As the node entry, whose types the package declares for every runtime (Bun runs node:http too).
export { type NodeListener, toNodeListener } from "../node/serve.ts";
