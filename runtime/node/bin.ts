// The rqts CLI on node: installs the node adapter and runs src/cli.ts.
import { setRuntime } from "../../src/runtime.ts";
import { main } from "../../src/cli.ts";
import { nodeRuntime } from "./mod.ts";

setRuntime(nodeRuntime);
nodeRuntime.exit(await main(nodeRuntime.args()));
