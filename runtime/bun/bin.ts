// The rqts CLI on bun: installs the bun adapter and runs src/cli.ts.
import { setRuntime } from "../../src/runtime.ts";
import { main } from "../../src/cli.ts";
import { bunRuntime } from "./mod.ts";

setRuntime(bunRuntime);
bunRuntime.exit(await main(bunRuntime.args()));
