// A job's status as RQ writes it, and the registry each status puts a job in.
import type { RegistryKind } from "./keys.ts";

/** A job's status, exactly as RQ writes it. */
export type JobStatus =
  | "queued"
  | "finished"
  | "failed"
  | "started"
  | "deferred"
  | "scheduled"
  | "stopped"
  | "canceled";

const STATUSES = new Set<string>([
  "queued",
  "finished",
  "failed",
  "started",
  "deferred",
  "scheduled",
  "stopped",
  "canceled",
]);

/** The registry a job sits in for a given status (RQ's `_remove_from_registries`). */
export function registryForStatus(status: string | null | undefined): RegistryKind | undefined {
  switch (status) {
    case "finished":
      return "finished";
    case "deferred":
      return "deferred";
    case "started":
      return "started";
    case "scheduled":
      return "scheduled";
    case "failed":
    case "stopped":
      return "failed";
    case "canceled":
      return "canceled";
  }
  return undefined;
}

/** The status a hash says, or null when it says none RQ knows. */
export function parseStatus(text: string | undefined): JobStatus | null {
  return text && STATUSES.has(text) ? text as JobStatus : null;
}
