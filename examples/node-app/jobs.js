// Three plain-JS job functions that form a chain: each one reads the result of the job it depends on.
// job() records where each lives ("./jobs.js#fetchOrder", a path from this project's root, its package.json folder).
import { getCurrentJob, Job, job } from "rqts";

/** The result of the job the running job depends on: how a chain passes data along, as in RQ. */
async function parentResult() {
  const current = getCurrentJob();
  const parent = await Job.fetch(current.dependencyIds[0], { connection: current.connection });
  return await parent.result;
}

export const fetchOrder = job(function fetchOrder(orderId) {
  return { orderId, items: [{ sku: "tea", qty: 2, price: 4.5 }, { sku: "mug", qty: 1, price: 8.25 }] };
});

export const priceOrder = job(async function priceOrder() {
  const order = await parentResult();
  return { orderId: order.orderId, total: order.items.reduce((sum, item) => sum + item.qty * item.price, 0) };
});

export const sendInvoice = job(async function sendInvoice(email) {
  const { orderId, total } = await parentResult();
  return `invoice for order ${orderId} (${total.toFixed(2)} EUR) sent to ${email}`;
});
