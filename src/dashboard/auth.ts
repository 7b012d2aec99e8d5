// No RQ counterpart (rq-dashboard leaves auth to Flask): who may look at the dashboard (HTTP basic auth or a bearer
// token) and which POSTs may act (a CSRF token only pages of this dashboard carry).

/** How requests prove who they are: a user and password (HTTP basic auth), or a token (`Authorization: Bearer`). */
export type DashboardAuth = { user: string; password: string } | { token: string };

/** The cookie a browser keeps a token in after opening the dashboard once with `?token=`. */
export const TOKEN_COOKIE = "rqts_dashboard_token";

const encoder = new TextEncoder();

/** Whether `a` equals `b`, in time that does not depend on where they differ (both hashed to 32 bytes first). */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((s) => crypto.subtle.digest("SHA-256", encoder.encode(s))));
  const u = new Uint8Array(x), v = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < u.length; i++) diff |= u[i] ^ v[i];
  return diff === 0;
}

/**
 * Checks `auth` (a `user:password` string or `{ user, password }` / `{ token }`) and returns it in one shape.
 * @throws {TypeError} saying what was received and what is expected.
 */
export function checkAuth(auth: unknown): DashboardAuth | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth === "string") {
    const colon = auth.indexOf(":");
    if (colon < 1 || colon === auth.length - 1) {
      throw new TypeError(`auth: received a string without "user:password"; give e.g. "admin:s3cret".`);
    }
    return { user: auth.slice(0, colon), password: auth.slice(colon + 1) };
  }
  if (auth && typeof auth === "object") {
    const a = auth as Record<string, unknown>;
    if (typeof a.token === "string" && a.token.length < 8) {
      throw new TypeError(`auth: received a token of ${a.token.length} characters; give one of 8 characters or more.`);
    }
    if (typeof a.token === "string" && a.token.length >= 8 && a.user === undefined) return { token: a.token };
    if (typeof a.user === "string" && a.user && !a.user.includes(":") && typeof a.password === "string" && a.password) {
      return { user: a.user, password: a.password };
    }
  }
  throw new TypeError(
    `auth: expected "user:password", { user, password } or { token } (a token of 8 characters or more); received ` +
      `${auth === null ? "null" : typeof auth === "object" ? JSON.stringify(Object.keys(auth)) : typeof auth}.`,
  );
}

/** The credentials a request carries: its Authorization header, else the token cookie. */
function presented(request: Request): { basic?: string; bearer?: string; cookie?: string } {
  const header = request.headers.get("authorization") ?? "";
  const [scheme, value] = [header.slice(0, header.indexOf(" ")).toLowerCase(), header.slice(header.indexOf(" ") + 1)];
  const cookie = (request.headers.get("cookie") ?? "").split(/;\s*/).find((p) => p.startsWith(`${TOKEN_COOKIE}=`));
  return {
    basic: scheme === "basic" ? value.trim() : undefined,
    bearer: scheme === "bearer" ? value.trim() : undefined,
    cookie: cookie ? decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1)) : undefined,
  };
}

/** Whether `request` proves `auth` (always true without auth). */
export async function authorized(request: Request, auth: DashboardAuth | undefined): Promise<boolean> {
  if (!auth) return true;
  const p = presented(request);
  if ("token" in auth) {
    const given = p.bearer ?? p.cookie;
    return given !== undefined && await sameSecret(given, auth.token);
  }
  if (p.basic === undefined) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(p.basic), (ch) => ch.charCodeAt(0)));
  } catch {
    return false;
  }
  return await sameSecret(decoded, `${auth.user}:${auth.password}`);
}

/** The 401 challenge for `auth`. */
export function challenge(auth: DashboardAuth): string {
  return "token" in auth ? 'Bearer realm="rqts dashboard"' : 'Basic realm="rqts dashboard", charset="UTF-8"';
}

/** A fresh random CSRF token (per dashboard handler; pages embed it, POSTs send it back). */
export function newCsrfToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
