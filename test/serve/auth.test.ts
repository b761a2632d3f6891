/**
 * Issue 18 item 3: writes need a token (from a file or the environment, compared in constant time,
 * 401 + WWW-Authenticate without it), a non-loopback listener without a token is refused at start,
 * every route is rate-limited per client (429 + Retry-After), and the body limit answers 413.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ADMIN_TOKEN_ENV,
  bearerChecker,
  checkListenAuth,
  isLoopbackHost,
  isWriteRequest,
  parseRateLimit,
  readAdminToken,
} from '../../src/serve/auth.js';
import { buildService, type Service } from '../../src/serve/server.js';
import { tinyExport, userToken } from './fixture.js';
import { KDREC_CLI as cli } from './serveChild.js';

const TOKEN = 'a-long-admin-token-0123456789';

describe('admin token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-auth-'));
  test('read from the file (trimmed), else the environment; an empty file or variable is refused', () => {
    const file = join(dir, 'token');
    writeFileSync(file, `  ${TOKEN}\n\n`);
    assert.equal(readAdminToken(file, {}), TOKEN);
    assert.equal(readAdminToken(file, { [ADMIN_TOKEN_ENV]: 'other' }), TOKEN, 'the file wins');
    assert.equal(readAdminToken(undefined, { [ADMIN_TOKEN_ENV]: ' env-token ' }), 'env-token');
    assert.equal(readAdminToken(undefined, {}), null);
    const empty = join(dir, 'empty');
    writeFileSync(empty, ' \n\t\n');
    assert.throws(() => readAdminToken(empty, {}), /--admin-token-file .*empty: the file is empty/);
    assert.throws(
      () => readAdminToken(join(dir, 'missing'), {}),
      /--admin-token-file .*missing: cannot read it/,
    );
    assert.throws(
      () => readAdminToken(undefined, { [ADMIN_TOKEN_ENV]: '  ' }),
      /KDREC_ADMIN_TOKEN is set but empty/,
    );
  });

  test('the bearer check accepts only the exact token', () => {
    const ok = bearerChecker(TOKEN);
    assert.equal(ok(`Bearer ${TOKEN}`), true);
    assert.equal(ok(`bearer ${TOKEN}`), true, 'the scheme is case-insensitive (RFC 7235)');
    for (const bad of [
      undefined,
      '',
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}Y`,
      `Bearer ${TOKEN} extra`,
      'Bearer ',
    ]) {
      assert.equal(ok(bad), false, String(bad));
    }
  });

  test('loopback is 127.0.0.0/8, ::1 and localhost; anything else needs a token to listen on', () => {
    for (const h of [
      '127.0.0.1',
      '127.3.4.5',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      'localhost',
      '::ffff:127.0.0.1',
    ])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.20',
      '128.0.0.1',
      'example.com',
      '::ffff:10.0.0.1',
    ])
      assert.equal(isLoopbackHost(h), false, h);
    assert.throws(
      () => checkListenAuth('0.0.0.0', null, false),
      /--admin-token-file FILE or set KDREC_ADMIN_TOKEN/,
    );
    assert.doesNotThrow(() => checkListenAuth('0.0.0.0', TOKEN, false));
    assert.doesNotThrow(() => checkListenAuth('0.0.0.0', null, true));
    assert.doesNotThrow(() => checkListenAuth('127.0.0.1', null, false));
  });

  test('writes are /admin/* and POST /events', () => {
    assert.equal(isWriteRequest('POST', '/admin/reload'), true);
    assert.equal(isWriteRequest('GET', '/admin/anything?x=1'), true);
    assert.equal(isWriteRequest('POST', '/events'), true);
    assert.equal(isWriteRequest('POST', '/events?user=1'), true);
    assert.equal(isWriteRequest('POST', '/recommend'), false);
    assert.equal(isWriteRequest('POST', '/administrator'), false);
    assert.equal(isWriteRequest('GET', '/events'), false);
    assert.equal(isWriteRequest('GET', '/health'), false);
    assert.equal(isWriteRequest('GET', '/metrics'), false);
  });

  test('rate limits parse as N/s, N/min, N/h or off', () => {
    assert.deepEqual(parseRateLimit('10/s', '--rate-limit'), { max: 10, windowMs: 1000 });
    assert.deepEqual(parseRateLimit('600/min', '--rate-limit'), { max: 600, windowMs: 60_000 });
    assert.deepEqual(parseRateLimit('5/h', '--rate-limit'), { max: 5, windowMs: 3_600_000 });
    assert.equal(parseRateLimit('off', '--rate-limit'), null);
    for (const bad of ['10', '0/s', 'ten/s', '10/day', '-1/s'])
      assert.throws(() => parseRateLimit(bad, '--admin-rate-limit'), /--admin-rate-limit: expected N\/s/);
  });
});

describe('the service with an admin token and rate limits', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-auth-serve-'));
  let v1: ReturnType<typeof tinyExport>;
  let v2: ReturnType<typeof tinyExport>;
  let svc: Service;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const events = { user_id: userToken(2), events: [{ item_id: 'i001', ts: 100, labels: { click: 1 } }] };

  before(async () => {
    v1 = tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
    v2 = tinyExport({ scoreFn: 'dot', seed: 4, dir: join(root, 'v2') });
    svc = await buildService({
      exportRoot: root,
      exportDir: 'v1',
      n: 40,
      m: 20,
      k: 5,
      adminToken: TOKEN,
      rateLimit: { max: 20, windowMs: 60_000 },
      adminRateLimit: { max: 4, windowMs: 60_000 },
    });
  });
  after(async () => {
    await svc.app.close();
  });

  test('writes without the token get 401 with WWW-Authenticate: Bearer and change nothing', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }]) {
      const r = await svc.app.inject({
        method: 'POST',
        url: '/admin/reload',
        headers,
        payload: { dir: 'v2' },
      });
      assert.equal(r.statusCode, 401, r.body);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      assert.match(r.json().message, /POST \/admin\/reload needs the admin token/);
    }
    assert.equal(svc.state().bundle.manifest.createdAt, v1.manifest.createdAt);
    const ev = await svc.app.inject({
      method: 'POST',
      url: '/events',
      payload: events,
      remoteAddress: '10.0.0.9',
    });
    assert.equal(ev.statusCode, 401);
    assert.deepEqual(await svc.userStates.history(userToken(2)), []);
  });

  test('with the token, writes go through; reads never need it', async () => {
    const ev = await svc.app.inject({
      method: 'POST',
      url: '/events',
      headers: auth,
      payload: events,
      remoteAddress: '10.0.0.9',
    });
    assert.equal(ev.statusCode, 200, ev.body);
    assert.equal((await svc.userStates.history(userToken(2))).length, 1);
    const r = await svc.app.inject({
      method: 'POST',
      url: '/admin/reload',
      headers: auth,
      payload: { dir: 'v2' },
      remoteAddress: '10.0.0.9',
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().exportCreatedAt, v2.manifest.createdAt);
    for (const [method, url] of [
      ['GET', '/health'],
      ['GET', '/metrics'],
    ] as const) {
      assert.equal((await svc.app.inject({ method, url, remoteAddress: '10.0.0.9' })).statusCode, 200, url);
    }
    const rec = await svc.app.inject({
      method: 'POST',
      url: '/recommend',
      payload: { user_id: userToken(1) },
      remoteAddress: '10.0.0.9',
    });
    assert.equal(rec.statusCode, 200, rec.body);
  });

  test('each client has its own budget, /admin/* a separate smaller one; failed logins count', async () => {
    const from = (remoteAddress: string, url = '/health', headers = {}) =>
      svc.app.inject({
        method: url === '/health' ? 'GET' : 'POST',
        url,
        remoteAddress,
        headers,
        payload: url === '/health' ? undefined : {},
      });
    const codes: number[] = [];
    for (let i = 0; i < 21; i++) codes.push((await from('10.0.0.1')).statusCode);
    assert.deepEqual(codes, [...Array(20).fill(200), 429]);
    const limited = await from('10.0.0.1');
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0, `retry-after: ${limited.headers['retry-after']}`);
    assert.match(limited.json().message, /rate limit exceeded/i);
    assert.equal(limited.json().error, 'Too Many Requests');
    // Another client is not affected, and the admin budget is not the read budget.
    assert.equal((await from('10.0.0.2')).statusCode, 200);
    const admin: number[] = [];
    for (let i = 0; i < 3; i++) admin.push((await from('10.0.0.1', '/admin/reload')).statusCode);
    admin.push((await from('10.0.0.1', '/admin/reload', auth)).statusCode);
    admin.push((await from('10.0.0.1', '/admin/reload', auth)).statusCode);
    assert.deepEqual(admin, [401, 401, 401, 200, 429]);
  });
});

describe('rate-limit switches and the body limit', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-limits-'));
  before(() => {
    tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
  });

  test('off means no limit; behind a trusted proxy, X-Forwarded-For is the client', async () => {
    const open = await buildService({
      exportRoot: root,
      exportDir: 'v1',
      rateLimit: null,
      adminRateLimit: null,
    });
    for (let i = 0; i < 300; i++)
      assert.equal((await open.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    await open.app.close();
    const proxied = await buildService({
      exportRoot: root,
      exportDir: 'v1',
      rateLimit: { max: 2, windowMs: 60_000 },
      trustProxy: '127.0.0.1',
    });
    const get = (client: string) =>
      proxied.app.inject({ method: 'GET', url: '/health', headers: { 'x-forwarded-for': client } });
    assert.deepEqual(
      [
        await get('203.0.113.1'),
        await get('203.0.113.1'),
        await get('203.0.113.1'),
        await get('203.0.113.2'),
      ].map((r) => r.statusCode),
      [200, 200, 429, 200],
    );
    await proxied.app.close();
  });

  test('the default body limit is 64 KiB: a larger body gets 413 naming the limit', async () => {
    const svc = await buildService({ exportRoot: root, exportDir: 'v1' });
    const big = await svc.app.inject({
      method: 'POST',
      url: '/recommend',
      payload: { user_id: 'u1', recent: Array.from({ length: 8000 }, (_, i) => `item-${i}`) },
    });
    assert.equal(big.statusCode, 413);
    assert.match(big.json().message, /exceeds the limit of 65536 bytes/);
    await svc.app.close();
  });
});

describe('kdrec serve start-up checks', { skip: existsSync(cli) ? false : `${cli} not built` }, () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrec-auth-cli-'));
  before(() => {
    tinyExport({ scoreFn: 'dot', seed: 3, dir: join(root, 'v1') });
  });

  /** Runs `kdrec serve ARGS`; resolves with the exit code and stderr, or 'listening' once it listens. */
  const serve = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | 'listening'; stderr: string }>((resolve) => {
      const env0 = { ...process.env, ...env };
      if (!(ADMIN_TOKEN_ENV in env)) delete env0[ADMIN_TOKEN_ENV];
      const child = spawn(
        process.execPath,
        [cli, 'serve', '--export', join(root, 'v1'), '--port', '0', ...args],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: env0,
        },
      );
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/ on http:\/\//.test(stderr)) {
          child.kill('SIGKILL');
          resolve({ code: 'listening', stderr });
        }
      });
      child.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
    });

  test('a non-loopback --host without a token is refused with a message; a token or --insecure-no-auth lets it start', async () => {
    const refused = await serve(['--host', '0.0.0.0']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /--host 0\.0\.0\.0: listening beyond loopback without an admin token/);
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    assert.equal((await serve(['--host', '0.0.0.0', '--admin-token-file', tokenFile])).code, 'listening');
    assert.equal((await serve(['--host', '0.0.0.0'], { [ADMIN_TOKEN_ENV]: TOKEN })).code, 'listening');
    assert.equal((await serve(['--host', '0.0.0.0', '--insecure-no-auth'])).code, 'listening');
    const emptyFile = join(root, 'empty-token');
    writeFileSync(emptyFile, '\n');
    const empty = await serve(['--admin-token-file', emptyFile]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /empty-token: the file is empty/);
    const badLimit = await serve(['--rate-limit', 'fast']);
    assert.equal(badLimit.code, 1);
    assert.match(badLimit.stderr, /--rate-limit: expected N\/s, N\/min, N\/h/);
  });
});
