// The job function. job() records where it lives ("./jobs.ts#countWords", a path from the queue's jobRoot, this
// folder), so the worker starts here.
import { job } from "../../mod.ts";

export const countWords = job(function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
});
