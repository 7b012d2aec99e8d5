// Installs the adapter for the runtime we run on (Deno, Bun or Node) before any rqts code needs it.
import { setRuntime } from "../src/runtime.ts";
import { detectRuntime } from "./detect.ts";

setRuntime(await detectRuntime());
