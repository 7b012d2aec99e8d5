// Every Lua script of src/lua/, for tests and tools that go through them all (callers import the script's module).

export { CANCEL } from "./cancel.ts";
export { CRON_ENQUEUE } from "./cron_enqueue.ts";
export { DEQUEUE } from "./dequeue.ts";
export { EMPTY } from "./empty.ts";
export { ENQUEUE } from "./enqueue.ts";
export { ENQUEUE_MANY } from "./enqueue_many.ts";
export { ENQUEUE_SCHEDULED } from "./enqueue_scheduled.ts";
export { ENQUEUE_WITH_DEPENDENCIES } from "./enqueue_with_dependencies.ts";
export { FINISH_FAILURE } from "./finish_failure.ts";
export { FINISH_FAILURE_AND_DEQUEUE } from "./finish_failure_and_dequeue.ts";
export { FINISH_SUCCESS } from "./finish_success.ts";
export { FINISH_SUCCESS_AND_DEQUEUE } from "./finish_success_and_dequeue.ts";
export { FINISH_SUCCESSES } from "./finish_successes.ts";
export { GIVE_BACK } from "./give_back.ts";
export { RECONCILE } from "./reconcile.ts";
export { RECOVER_WORKER } from "./recover_worker.ts";
export { RETURN_OWN_LIST } from "./return_own_list.ts";
export { SCHEDULE } from "./schedule.ts";
