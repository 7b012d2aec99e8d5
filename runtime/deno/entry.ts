// The npm package's entry for deno (chosen by the "deno" export condition): installs the deno adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { denoRuntime } from "./mod.ts";

setRuntime(denoRuntime);
export * from "../../src/public.ts";
// As the node entry, whose types the package declares for every runtime (Deno runs node:http too).
export { type NodeListener, toNodeListener } from "../node/serve.ts";
