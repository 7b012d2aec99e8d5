// The horse entry for deno: installs the deno adapter and serves jobs from the worker (src/horse_main.ts).
import { setRuntime } from "../../src/runtime.ts";
import { serveHorse } from "../../src/horse_main.ts";
import { denoRuntime } from "./mod.ts";
import { startOrphanWatchdog } from "../orphan_watchdog.ts";

setRuntime(denoRuntime);
serveHorse();
startOrphanWatchdog();
