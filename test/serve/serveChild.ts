/** Helpers for tests of `kdrec serve` run as a child process (the compiled CLI): start it, call it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

// Tests run compiled (dist/test/serve → dist/src/cli); under tsx, use the build next to the sources.
export const KDREC_CLI = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../dist/src/cli/main.js' : '../../src/cli/main.js',
    import.meta.url,
  ),
);

export interface ServeChild {
  server: ChildProcess;
  /** The address it listens on (`http://host:port`). */
  base: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

/** Starts `kdrec serve ARGS` and resolves once it says where it listens; rejects if it exits first. */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeChild> {
  const server = spawn(process.execPath, [KDREC_CLI, 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  return new Promise<ServeChild>((resolve, reject) => {
    server.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = / on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve({ server, base: m[1]!, stderr: () => stderr });
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
}

/** The fields these tests read from the service's JSON replies. */
export interface Reply {
  pid: number;
  exportCreatedAt: string;
  items: unknown[];
  message?: string;
}

/** One request on a NEW connection (a cluster hands out connections round-robin). */
export function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Reply; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: false,
        headers: {
          ...headers,
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let json = {} as Reply;
          try {
            json = JSON.parse(text) as Reply;
          } catch {}
          resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
