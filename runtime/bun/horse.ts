// The horse entry for bun: installs the bun adapter and serves jobs from the worker (src/horse_main.ts).
import { setRuntime } from "../../src/runtime.ts";
import { serveHorse } from "../../src/horse_main.ts";
import { bunRuntime } from "./mod.ts";
import { startOrphanWatchdog } from "../orphan_watchdog.ts";

setRuntime(bunRuntime);
serveHorse();
startOrphanWatchdog();
