// The horse entry for node: installs the node adapter and serves jobs from the worker (src/horse_main.ts).
import { setRuntime } from "../../src/runtime.ts";
import { serveHorse } from "../../src/horse_main.ts";
import { nodeRuntime } from "./mod.ts";
import { startOrphanWatchdog } from "../orphan_watchdog.ts";

setRuntime(nodeRuntime);
serveHorse();
startOrphanWatchdog();
