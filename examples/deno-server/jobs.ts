// The job function. job() records where it lives ("./jobs.ts#countWords", relative to the working directory), so
// the server and the worker must start in the same directory: this one.
import { job } from "../../mod.ts";

export const countWords = job(function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
});
