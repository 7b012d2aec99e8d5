#!/usr/bin/env node
// The npm bin `rqts`: picks the adapter for the runtime it runs on (node, or bun with `bunx --bun rqts`).
import { main } from "../src/cli.ts";
import { setRuntime } from "../src/runtime.ts";
import { detectRuntime } from "./detect.ts";

const runtime = await detectRuntime();
setRuntime(runtime);
runtime.exit(await main(runtime.args()));
