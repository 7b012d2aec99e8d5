// The npm package's entry for bun (chosen by the "bun" export condition): installs the bun adapter, then the API.
import { setRuntime } from "../../src/runtime.ts";
import { bunRuntime } from "./mod.ts";

setRuntime(bunRuntime);
export * from "../../src/public.ts";
