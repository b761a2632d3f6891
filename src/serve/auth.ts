/**
 * Who may change what a server serves (issue 18): `/admin/*` and `POST /events` take a bearer
 * token, and every route is rate-limited per client.
 *
 * Token: `kdrec serve --admin-token-file F` (the file's content, trimmed) or the environment
 * variable `KDREC_ADMIN_TOKEN`; the file wins when both are set. A write without
 * `Authorization: Bearer <token>` gets 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3). Both
 * sides are hashed (SHA-256) before `crypto.timingSafeEqual`, so the comparison takes the same
 * time whatever the guess and its length, and the token's length does not leak either.
 * A server listening beyond loopback without a token refuses to start (`--insecure-no-auth` is
 * the explicit way to run it open, e.g. behind a gateway that authenticates).
 *
 * Rate limits (@fastify/rate-limit, fixed windows, in the memory of each process): one budget per
 * client address for reads and events, and a smaller one for `/admin/*`, whose requests load whole
 * exports. Requests refused by authentication count against the budget (the limit runs first).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** Environment variable holding the admin token when no `--admin-token-file` is given. */
export const ADMIN_TOKEN_ENV = 'KDREC_ADMIN_TOKEN';

/** The admin token from `--admin-token-file` (trimmed; an empty file is refused) or the environment; null when neither. */
export function readAdminToken(
  tokenFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new Error(`--admin-token-file ${tokenFile}: cannot read it (${(err as Error).message})`);
    }
    const token = text.trim();
    if (token === '')
      throw new Error(`--admin-token-file ${tokenFile}: the file is empty; put the token in it`);
    return token;
  }
  const fromEnv = env[ADMIN_TOKEN_ENV]?.trim();
  if (fromEnv === undefined) return null;
  if (fromEnv === '') throw new Error(`${ADMIN_TOKEN_ENV} is set but empty; unset it or give it the token`);
  return fromEnv;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also v4-mapped) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) === 6) {
    if (h === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.split('.')[0] === '127';
  }
  return false;
}

/**
 * The start-up rule: listening beyond loopback needs a token, unless `insecureNoAuth` says the
 * operator wants the writes open. Throws with the message the CLI prints.
 */
export function checkListenAuth(host: string, token: string | null, insecureNoAuth: boolean): void {
  if (token !== null || insecureNoAuth || isLoopbackHost(host)) return;
  throw new Error(
    `kdrec serve --host ${host}: listening beyond loopback without an admin token would let anyone who reaches the port reload the model (POST /admin/reload) or write user events (POST /events). Give --admin-token-file FILE or set ${ADMIN_TOKEN_ENV}; or pass --insecure-no-auth to serve without one.`,
  );
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A bearer-token check comparing SHA-256 digests in constant time. */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const want = digest(token);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // A missing header still costs one digest and one comparison.
    return timingSafeEqual(digest(m?.[1] ?? ''), want) && m !== null;
  };
}

/** `/admin` and everything under it (a request URL, query string allowed). */
export function isAdminPath(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return path === '/admin' || path.startsWith('/admin/');
}

/** Requests that change what the server serves: the admin routes and user events. */
export function isWriteRequest(method: string, url: string): boolean {
  return isAdminPath(url) || (method === 'POST' && url.split('?', 1)[0] === '/events');
}

/** A rate limit: at most `max` requests per client in every window of `windowMs`. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

const WINDOWS: Record<string, number> = { s: 1000, sec: 1000, min: 60_000, m: 60_000, h: 3_600_000 };

/** `N/s`, `N/min` or `N/h` → a limit; `off` → null. */
export function parseRateLimit(text: string, flag: string): RateLimit | null {
  const t = text.trim().toLowerCase();
  if (t === 'off') return null;
  const m = /^(\d+)\s*\/\s*(s|sec|m|min|h)$/.exec(t);
  if (m === null || Number(m[1]) < 1)
    throw new Error(`${flag}: expected N/s, N/min, N/h (N ≥ 1) or off, got '${text}'`);
  return { max: Number(m[1]), windowMs: WINDOWS[m[2]!]! };
}

/**
 * Defaults, per client address and per server process. Reads: 1000/s — above what one process
 * answers (one process reached 315–400 requests/s closed-loop at 1M/100k items, BENCHMARKS.md "HTTP load test"), so
 * behind a load balancer, where every request may carry the balancer's address (unless
 * `--trust-proxy` names it), the limit never caps normal traffic; it stops a runaway client (a
 * retry loop) hitting a process directly. Capacity control belongs to the balancer. Admin: 60/min —
 * a reload loads a whole export, and an operator reloads a few times an hour.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { max: 1000, windowMs: 1000 };
export const DEFAULT_ADMIN_RATE_LIMIT: RateLimit = { max: 60, windowMs: 60_000 };
