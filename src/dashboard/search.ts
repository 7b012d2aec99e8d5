// No RQ counterpart (rq-dashboard has no search; bull-board's most asked-for feature): finding jobs by id (one
// EXISTS) or by text in their function name, arguments, meta or description, as a scan in bounded windows. The
// browser asks for one window at a time (offset, limit), shows how far it got, and can stop between windows, so a
// search through 10^5 jobs never holds Redis or the server for long.

import type { Connection } from "../connection.ts";
import type { Job } from "../job.ts";
import { countListing, type Listing, queueNames, readIds, readJobs } from "./data.ts";

/** Ids a window reads at most. */
export const MAX_WINDOW = 1000;
/** Ids a window reads unless asked for another size. */
export const DEFAULT_WINDOW = 500;

/** A job the scan found. */
export interface SearchMatch {
  id: string;
  funcName: string;
  status: string | null;
  origin: string;
}

/** What one window of a scan found, and where the next one starts. */
export interface SearchWindow {
  /** The listing's size when the window was read. */
  total: number;
  offset: number;
  /** Where the next window starts; `done` when it is at or past `total`. */
  next: number;
  done: boolean;
  matches: SearchMatch[];
}

/** The text a job is searched in: its function name, args, kwargs, meta and description, lower-cased. */
export function haystack(job: Job): string {
  let call = "";
  try {
    call = `${job.funcName} ${JSON.stringify(job.args)} ${JSON.stringify(job.kwargs)}`;
  } catch { /* data that does not decode: searched by its other fields */ }
  return `${call} ${JSON.stringify(job.meta)} ${job.description ?? ""}`.toLowerCase();
}

/** Scans ids `offset .. offset+limit-1` of a listing for jobs whose text holds `text` (case-insensitive). */
export async function searchWindow(
  c: Connection,
  options: { queue: string; listing: Listing; text: string; offset: number; limit: number },
): Promise<SearchWindow> {
  const { queue, listing, offset, limit } = options;
  const needle = options.text.toLowerCase();
  const total = await countListing(c, queue, listing);
  const entries = offset < total ? await readIds(c, queue, listing, offset, offset + limit - 1) : [];
  const jobs = await readJobs(c, entries.map((e) => e.id));
  const matches: SearchMatch[] = [];
  for (const { job } of jobs) {
    if (!job || !haystack(job).includes(needle)) continue;
    let funcName = "";
    try {
      funcName = job.funcName;
    } catch { /* shown without */ }
    matches.push({ id: job.id, funcName, status: job.status, origin: job.origin });
  }
  const next = offset + entries.length;
  return { total, offset, next, done: entries.length < limit || next >= total, matches };
}

/** Where a scan of every queue is: the queue's place in the sorted queue names, and the offset in its listing. */
export interface Cursor {
  queue: number;
  offset: number;
}

/** What one window of a scan of every queue found, and where the next one starts. */
export interface AcrossWindow {
  /** The listing's size summed over every queue when the window was read. */
  total: number;
  /** How many queues there are, and the one the next window starts in (null when done). */
  queues: number;
  queue: string | null;
  /** Ids read by this window. */
  scanned: number;
  next: Cursor;
  done: boolean;
  matches: SearchMatch[];
}

/**
 * A window of up to `limit` ids over one listing of every queue in turn, from `from`: a queue with nothing in the
 * listing costs one count, sent with the others, so a Redis with thousands of empty queues is scanned in a few windows.
 */
export async function searchAcross(
  c: Connection,
  options: { listing: Listing; text: string; from: Cursor; limit: number },
): Promise<AcrossWindow> {
  const { listing, text, limit } = options;
  const names = await queueNames(c);
  const counts = await Promise.all(names.map((q) => countListing(c, q, listing)));
  let { queue: i, offset } = options.from;
  let scanned = 0;
  const matches: SearchMatch[] = [];
  while (i < names.length && scanned < limit) {
    if (offset >= counts[i]) {
      [i, offset] = [i + 1, 0];
      continue;
    }
    const w = await searchWindow(c, { queue: names[i], listing, text, offset, limit: limit - scanned });
    matches.push(...w.matches);
    scanned += w.next - offset;
    [i, offset] = w.done ? [i + 1, 0] : [i, w.next];
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const done = i >= names.length;
  return {
    total,
    queues: names.length,
    queue: done ? null : names[i],
    scanned,
    next: { queue: i, offset },
    done,
    matches,
  };
}
