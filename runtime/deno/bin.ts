// The rqts CLI on deno: installs the deno adapter and runs src/cli.ts.
import { setRuntime } from "../../src/runtime.ts";
import { main } from "../../src/cli.ts";
import { denoRuntime } from "./mod.ts";

setRuntime(denoRuntime);
denoRuntime.exit(await main(denoRuntime.args()));
