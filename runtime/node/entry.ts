// The npm package's entry for node (chosen by the "node" export condition): installs the node adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { nodeRuntime } from "./mod.ts";

setRuntime(nodeRuntime);
export * from "../../src/public.ts";
