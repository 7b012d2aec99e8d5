// BullMQ sandboxed processor for the worker benchmark (bench/peers/bullmq_worker.mjs): does nothing.
// CommonJS so that BullMQ's forked child can require() it on any Node version.
module.exports = async function noop() {};
