// The npm package's entry for deno (chosen by the "deno" export condition): installs the deno adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { denoRuntime } from "./mod.ts";

setRuntime(denoRuntime);
export * from "../../src/public.ts";
