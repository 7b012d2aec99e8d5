// The public API of the core, re-exported by mod.ts and the npm entry points.

export {
  sendCommand,
  sendKillHorseCommand,
  sendShutdownCommand,
  sendStopJobCommand,
  type WorkerCommand,
} from "./command.ts";
export {
  Connection,
  type ConnectionOption,
  type ConnectionSettings,
  isConnectionError,
  Pipeline,
  type PipelineLike,
  type RedisClient,
  type TlsSettings,
} from "./connection.ts";
export { getCurrentJob } from "./current.ts";
export { dashboard, type DashboardHandler, type DashboardOptions } from "./dashboard/dashboard.ts";
export type { DashboardAuth } from "./dashboard/auth.ts";
export {
  CronConfigError,
  type CronEntry,
  CronJob,
  type CronJobOptions,
  type CronRegisterOptions,
  type MissedTicks,
} from "./cron_job.ts";
export { CronScheduler, type CronSchedulerInfo, type CronSchedulerOptions } from "./cron.ts";
export * from "./defaults.ts";
export {
  DeserializationError,
  DuplicateJobError,
  FunctionReferenceError,
  InvalidJobDependencyError,
  InvalidJobOperationError,
  NoSuchJobError,
  RedisConnectionError,
  RqtsError,
  SerializationError,
} from "./errors.ts";
export { FUNC_REF, type FunctionReference } from "./func_ref.ts";
export { Job, type JobFetchOptions, type JobStatus } from "./job.ts";
export { job, type JobDecoratorOptions, type JobFunction } from "./decorator.ts";
export type { Dependency, DependencySpec, Duration, JobOptions } from "./options.ts";
export type { FailureCallback, StoppedCallback, SuccessCallback } from "./perform.ts";
export type { Callback, CallbackOption } from "./callback.ts";
export { type EnqueueCallOptions, type EnqueueData, Queue, type QueueOptions } from "./queue.ts";
export {
  BaseRegistry,
  CanceledJobRegistry,
  DeferredJobRegistry,
  FailedJobRegistry,
  FinishedJobRegistry,
  type RegistryOptions,
  ScheduledJobRegistry,
  StartedJobRegistry,
} from "./registry.ts";
export { Result, type ResultType } from "./results.ts";
export { type BackoffOptions, exponentialBackoff, type RepeatSpec, type RetrySpec } from "./retry.ts";
export { type QueueTotals, queueTotals, throughput, type ThroughputMinute, type ThroughputOptions } from "./stats.ts";
export { type Runtime } from "./runtime.ts";
export { JSONSerializer, type Serializer } from "./serializer.ts";
export {
  consoleLogger,
  type DequeueStrategy,
  type ExceptionHandler,
  type Logger,
  type LogLevel,
  Worker,
  type WorkerOptions,
} from "./worker.ts";
