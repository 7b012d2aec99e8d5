// The npm package's entry for node (chosen by the "node" export condition): installs the node adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { nodeRuntime } from "./mod.ts";

setRuntime(nodeRuntime);
export * from "../../src/public.ts";
// Mounting a fetch handler (the dashboard) in a node:http or Express server, without @hono/node-server.
export { type NodeListener, toNodeListener } from "./serve.ts";
