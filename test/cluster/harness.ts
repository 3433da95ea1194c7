/**
 * Test-cluster harness: starts a real etcd + kube-apiserver (and optionally
 * kube-controller-manager) on 127.0.0.1 for the cluster test suites. No
 * Docker, no mocks: the binaries come from build-kube-binaries.sh (see
 * README.md in this folder).
 *
 * Security posture of the test cluster:
 * - TLS: a throwaway CA and an apiserver serving cert (SANs 127.0.0.1,
 *   localhost) are generated per cluster with the `openssl` CLI; every client
 *   verifies the server against that CA (`caPem`). TLS verification is never
 *   disabled.
 * - Admin identity: a static bearer token (user `joch-test-admin`, group
 *   `system:masters`) from the apiserver's --token-auth-file.
 * - Extra identities, two mechanisms:
 *   1. `startTestCluster({ users: [{ name, groups }] })` writes additional
 *      static tokens into the token file before start; get them with
 *      `cluster.userIdentity(name)`. Arbitrary user names and groups, no RBAC
 *      granted: tests bind what they need.
 *   2. `cluster.serviceAccountIdentity(namespace, name)` creates the
 *      ServiceAccount if needed and mints a short-lived token with the
 *      TokenRequest API, exactly what an in-cluster reconciler gets.
 *
 * Process hygiene: children are killed by PID (SIGTERM, then SIGKILL), never
 * by name. A process 'exit' handler SIGKILLs whatever is still running, and a
 * small detached `sh` watchdog does the same (and removes the temp dir) if the
 * test process dies without running its exit handlers (SIGKILL, SIGTERM).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { access, constants as fsConstants, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const execFileP = promisify(execFile);
const generateKeyPairP = promisify(generateKeyPair);

const BUILD_SCRIPT = fileURLToPath(new URL('./build-kube-binaries.sh', import.meta.url));
const DEFAULT_KUBE_VERSION = '1.34.4';
const ADMIN_USER = 'joch-test-admin';

/** Controllers started when `controllerManager: true` (override with `controllers`). */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'garbage-collector-controller',
  'namespace-controller',
  'deployment-controller',
  'replicaset-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  // Fills the aggregated built-in ClusterRoles (admin, edit, view); without
  // it they exist but grant nothing.
  'clusterrole-aggregation-controller',
];

// ---------------------------------------------------------------------------
// Binary discovery

export type KubeBinaries =
  | { ok: true; dir: string; etcd: string; kubeApiserver: string; kubeControllerManager: string }
  | { ok: false; reason: string };

const BINARY_NAMES = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;

async function checkBinDir(dir: string): Promise<KubeBinaries> {
  const missing: string[] = [];
  for (const name of BINARY_NAMES) {
    try {
      await access(join(dir, name), fsConstants.X_OK);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    return { ok: false, reason: `${dir} lacks executable ${missing.join(', ')}` };
  }
  return {
    ok: true,
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
}

/** The cache folder build-kube-binaries.sh uses (same defaulting rules). */
export function kubeCacheDir(): string {
  const env = process.env;
  if (env['JOCH_KUBE_CACHE']) return env['JOCH_KUBE_CACHE'];
  const xdg = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(xdg, 'joch-kube-test');
}

async function hasCommand(cmd: string): Promise<boolean> {
  try {
    await execFileP('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

async function discoverBinaries(): Promise<KubeBinaries> {
  const fromEnv = process.env['JOCH_KUBE_BIN'];
  if (fromEnv) {
    const r = await checkBinDir(fromEnv);
    return r.ok ? r : { ok: false, reason: `JOCH_KUBE_BIN: ${r.reason}` };
  }
  const version = process.env['JOCH_KUBE_VERSION'] || DEFAULT_KUBE_VERSION;
  const cache = kubeCacheDir();
  const expected = join(cache, `v${version}`, 'bin');
  if (!(await checkBinDir(expected)).ok) {
    console.warn(
      `[joch cluster tests] kube binaries v${version} not in ${expected}; running ${BUILD_SCRIPT} ` +
        '(first build downloads and compiles Kubernetes with Go and takes several minutes)',
    );
  }
  // Serialize concurrent builds (parallel test files / workers share the
  // script's src folder) with flock(1) when it is available.
  await mkdir(cache, { recursive: true }).catch(() => undefined);
  const useFlock = await hasCommand('flock');
  const [cmd, args] = useFlock
    ? ['flock', [join(cache, '.build.lock'), 'bash', BUILD_SCRIPT]]
    : ['bash', [BUILD_SCRIPT]];
  try {
    const { stdout } = await execFileP(cmd, args, {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 45 * 60_000,
      env: process.env,
    });
    const dir = stdout.trim().split('\n').pop()?.trim() ?? '';
    if (!dir) return { ok: false, reason: `${BUILD_SCRIPT} printed no bin folder` };
    return await checkBinDir(dir);
  } catch (err) {
    const e = err as { code?: unknown; stderr?: unknown; message?: unknown };
    const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
    const tail = stderr.split('\n').slice(-15).join('\n');
    return {
      ok: false,
      reason: `${BUILD_SCRIPT} failed (exit ${String(e.code)}): ${tail || String(e.message)}`,
    };
  }
}

let binariesPromise: Promise<KubeBinaries> | undefined;

/**
 * Locates etcd, kube-apiserver and kube-controller-manager: the folder in
 * JOCH_KUBE_BIN if set, else whatever build-kube-binaries.sh prints (it
 * builds on first use). Never throws; memoized per process.
 */
export function kubeBinaries(): Promise<KubeBinaries> {
  binariesPromise ??= discoverBinaries();
  return binariesPromise;
}

// ---------------------------------------------------------------------------
// Public types

export interface TestUser {
  name: string;
  groups?: string[];
}

export interface StartTestClusterOptions {
  /** Also run kube-controller-manager (GC, namespace deletion, deployments...). */
  controllerManager?: boolean;
  /** Controllers for kube-controller-manager; default DEFAULT_CONTROLLERS. */
  controllers?: readonly string[];
  /** Extra static-token users, written to the token file before start. */
  users?: readonly TestUser[];
  /** Readiness budget for the apiserver (ms); default 60 000. */
  readyTimeoutMs?: number;
  /** Keep the temp dir (data, certs, logs) after stop(); also env JOCH_KUBE_KEEP=1. */
  keepDir?: boolean;
}

export interface ClusterIdentity {
  user: string;
  token: string;
  kubeconfig: KubeConfig;
  /** A self-contained kubeconfig file (CA embedded) for this identity. */
  kubeconfigPath: string;
}

export interface TestCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  /** PEM of the throwaway CA that signed the apiserver serving cert. */
  caPem: string;
  caFile: string;
  /** Admin (system:masters) kubeconfig file, self-contained. */
  kubeconfigPath: string;
  /** Admin (system:masters) KubeConfig. */
  kubeconfig: KubeConfig;
  adminToken: string;
  /** Temp dir holding etcd data, certs, tokens and logs. */
  dir: string;
  pids: { etcd: number; kubeApiserver: number; kubeControllerManager?: number };
  /** Milliseconds from startTestCluster() call to ready. */
  startupMs: number;
  /** A static-token user declared in `users` at start. */
  userIdentity(name: string): ClusterIdentity;
  /** Creates the ServiceAccount if missing and mints a token via TokenRequest. */
  serviceAccountIdentity(
    namespace: string,
    name: string,
    opts?: { expirationSeconds?: number },
  ): Promise<ClusterIdentity>;
  /** KubeConfig for an arbitrary bearer token against this cluster. */
  kubeConfigForToken(token: string, user?: string): KubeConfig;
  /** Last lines of a component log (for diagnostics). */
  logTail(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager', lines?: number): Promise<string>;
  /** Idempotent: SIGTERM, then SIGKILL after `graceMs`; removes the temp dir. */
  stop(graceMs?: number): Promise<void>;
}

export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError';
}

// ---------------------------------------------------------------------------
// Process bookkeeping (exit handler)

interface Live {
  children: ChildProcess[];
  watchdog?: ChildProcess;
  dir: string;
  keep: boolean;
}
const live = new Set<Live>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of live) {
      for (const c of [...l.children, ...(l.watchdog ? [l.watchdog] : [])]) {
        if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      if (!l.keep) rmSync(l.dir, { recursive: true, force: true });
    }
  });
}

const WATCHDOG_SCRIPT = `
parent="$1"; dir="$2"
trap '' INT HUP
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$dir/pids" ] && kill -KILL $(cat "$dir/pids") 2>/dev/null
[ -f "$dir/keep" ] || rm -rf "$dir"
`;

// ---------------------------------------------------------------------------
// Helpers

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: unknown; message?: unknown };
    throw new ClusterStartError(`openssl ${args[0] ?? ''} failed: ${String(e.stderr ?? e.message)}`);
  }
}

async function makePki(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const sa = generateKeyPairP('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }).then(async ({ publicKey, privateKey }) => {
    await writeFile(join(dir, 'sa.pub'), publicKey);
    await writeFile(join(dir, 'sa.key'), privateKey, { mode: 0o600 });
  });
  await openssl(
    [
      'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
      '-subj', '/CN=joch-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(
    ['req', '-new', ...ec, '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver'],
    dir,
  );
  await writeFile(
    join(dir, 'apiserver.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
      '',
    ].join('\n'),
  );
  await openssl(
    [
      'x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'apiserver.crt', '-days', '2', '-extfile', 'apiserver.ext',
    ],
    dir,
  );
  await sa;
}

function token(): string {
  return randomBytes(24).toString('hex');
}

function csvField(s: string): string {
  if (/[",\n\r]/.test(s)) {
    if (/["\n\r]/.test(s)) throw new Error(`unsupported character in token-file field: ${s}`);
    return `"${s}"`;
  }
  return s;
}

function kubeconfigObject(server: string, caPem: string, user: string, tok: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'joch-test',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token: tok } }],
    contexts: [{ name: 'joch-test', context: { cluster: 'joch-test', user, namespace: 'default' } }],
    'current-context': 'joch-test',
  };
}

function loadKubeConfig(obj: object): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(obj));
  return kc;
}

async function fileTail(path: string, lines: number): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return buf.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } finally {
      await fh.close();
    }
  } catch {
    return '(no log)';
  }
}

interface HttpResult {
  status: number;
  body: string;
}

function get(url: string, opts: { ca?: string; token?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
    const cb = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { method: 'GET', headers, ca: opts.ca, timeout: opts.timeoutMs ?? 2000 }, cb)
        : httpRequest(u, { method: 'GET', headers, timeout: opts.timeoutMs ?? 2000 }, cb);
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (exited(c)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    c.once('exit', onExit);
  });
}

async function killChild(c: ChildProcess, graceMs: number): Promise<void> {
  if (c.pid === undefined || exited(c)) return;
  try {
    process.kill(c.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(c, graceMs)) return;
  try {
    process.kill(c.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitExit(c, 5000);
}

// ---------------------------------------------------------------------------
// Start

/**
 * Starts etcd + kube-apiserver (+ kube-controller-manager when asked) on
 * random free 127.0.0.1 ports with a fresh temp dir. Throws when the
 * binaries are unavailable (check `kubeBinaries()` first to skip instead) or
 * when the cluster does not become ready (the error carries log tails).
 */
export async function startTestCluster(opts: StartTestClusterOptions = {}): Promise<TestCluster> {
  const bins = await kubeBinaries();
  if (!bins.ok) throw new ClusterStartError(`kube binaries unavailable: ${bins.reason}`);
  // A port picked by bind(0) can be taken by someone else before etcd or the
  // apiserver binds it; retry once with fresh ports in that case.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bins, opts);
    } catch (err) {
      if (attempt < 3 && err instanceof ClusterStartError && /address already in use/i.test(err.message)) continue;
      throw err;
    }
  }
}

async function startOnce(
  bins: Extract<KubeBinaries, { ok: true }>,
  opts: StartTestClusterOptions,
): Promise<TestCluster> {
  const t0 = Date.now();
  const keep = opts.keepDir === true || process.env['JOCH_KUBE_KEEP'] === '1';
  const dir = await mkdtemp(join(tmpdir(), 'joch-kube-'));
  const entry: Live = { children: [], dir, keep };
  live.add(entry);
  installExitHook();
  if (keep) await writeFile(join(dir, 'keep'), '');

  const logPath = (name: string): string => join(dir, `${name}.log`);
  const logs = async (names: string[]): Promise<string> => {
    const parts = await Promise.all(names.map(async (n) => `--- ${n}.log (tail) ---\n${await fileTail(logPath(n), 40)}`));
    return parts.join('\n');
  };

  const spawnLogged = async (name: string, bin: string, args: string[]): Promise<ChildProcess> => {
    const fd = openSync(logPath(name), 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { cwd: dir, stdio: ['ignore', fd, fd], env: { ...process.env } });
    } finally {
      closeSync(fd);
    }
    child.unref();
    entry.children.push(child);
    if (child.pid === undefined) {
      const spawnErr = await new Promise<Error>((r) => child.once('error', r));
      throw new ClusterStartError(`cannot start ${bin}: ${spawnErr.message}`);
    }
    child.on('error', () => undefined);
    await writeFile(join(dir, 'pids'), `${child.pid}\n`, { flag: 'a' });
    return child;
  };

  const stopAll = async (graceMs: number): Promise<void> => {
    // Reverse start order: controller-manager, apiserver, etcd.
    for (const c of [...entry.children].reverse()) await killChild(c, graceMs);
    if (entry.watchdog) await killChild(entry.watchdog, 1000);
    live.delete(entry);
    if (!keep) await rm(dir, { recursive: true, force: true });
  };

  try {
    // Watchdog first, so even a crash during startup cleans up.
    const wd = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'joch-kube-watchdog', String(process.pid), dir], {
      detached: true,
      stdio: 'ignore',
    });
    wd.on('error', () => undefined);
    wd.unref();
    entry.watchdog = wd;

    const [etcdClient, etcdPeer, securePort] = (await freePorts(3)) as [number, number, number];
    await makePki(dir);
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
    const adminToken = token();
    const userTokens = new Map<string, { token: string; groups: string[] }>();
    const tokenLines = [`${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"`];
    for (const u of opts.users ?? []) {
      if (u.name === ADMIN_USER || userTokens.has(u.name)) throw new ClusterStartError(`duplicate test user ${u.name}`);
      const t = token();
      const groups = u.groups ?? [];
      userTokens.set(u.name, { token: t, groups });
      const fields = [t, csvField(u.name), csvField(u.name)];
      if (groups.length > 0) {
        for (const g of groups) csvField(g); // validates
        if (groups.some((g) => g.includes(','))) throw new ClusterStartError(`group names cannot contain ','`);
        fields.push(`"${groups.join(',')}"`);
      }
      tokenLines.push(fields.join(','));
    }
    await writeFile(join(dir, 'tokens.csv'), tokenLines.join('\n') + '\n', { mode: 0o600 });

    const server = `https://127.0.0.1:${securePort}`;
    const writeKubeconfig = async (file: string, user: string, tok: string): Promise<KubeConfig> => {
      const obj = kubeconfigObject(server, caPem, user, tok);
      await writeFile(join(dir, file), JSON.stringify(obj, null, 2) + '\n', { mode: 0o600 });
      return loadKubeConfig(obj);
    };
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const kubeconfig = await writeKubeconfig('admin.kubeconfig', ADMIN_USER, adminToken);

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = await spawnLogged('etcd', bins.etcd, [
      '--name', 'default',
      '--data-dir', join(dir, 'etcd-data'),
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ]);

    const readyDeadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    const failIfDead = async (c: ChildProcess, name: string): Promise<void> => {
      if (exited(c)) {
        throw new ClusterStartError(
          `${name} exited early (code ${String(c.exitCode)}, signal ${String(c.signalCode)})\n` +
            (await logs(['etcd', 'kube-apiserver', 'kube-controller-manager'])),
        );
      }
    };
    const poll = async (what: string, check: () => Promise<boolean>, watch: [ChildProcess, string][]): Promise<void> => {
      let lastErr = '';
      for (;;) {
        for (const [c, n] of watch) await failIfDead(c, n);
        try {
          if (await check()) return;
        } catch (err) {
          lastErr = err instanceof Error ? err.message : String(err);
        }
        if (Date.now() > readyDeadline) {
          throw new ClusterStartError(
            `timed out waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}\n` +
              (await logs(['etcd', 'kube-apiserver', 'kube-controller-manager'])),
          );
        }
        await sleep(100);
      }
    };

    await poll('etcd /health', async () => (await get(`${etcdUrl}/health`)).status === 200, [[etcd, 'etcd']]);

    // kube-apiserver
    const apiserver = await spawnLogged('kube-apiserver', bins.kubeApiserver, [
      '--etcd-servers', etcdUrl,
      '--bind-address', '127.0.0.1',
      '--advertise-address', '127.0.0.1',
      '--secure-port', String(securePort),
      '--cert-dir', join(dir, 'apiserver-certs'),
      '--tls-cert-file', join(dir, 'apiserver.crt'),
      '--tls-private-key-file', join(dir, 'apiserver.key'),
      '--client-ca-file', join(dir, 'ca.crt'),
      '--service-account-issuer', 'https://kubernetes.default.svc',
      '--service-account-key-file', join(dir, 'sa.pub'),
      '--service-account-signing-key-file', join(dir, 'sa.key'),
      '--service-cluster-ip-range', '10.0.0.0/24',
      '--authorization-mode', 'RBAC',
      '--token-auth-file', join(dir, 'tokens.csv'),
      '--disable-admission-plugins', 'ServiceAccount',
      '--endpoint-reconciler-type', 'none',
      '--profiling=false',
    ]);
    const watchApi: [ChildProcess, string][] = [[etcd, 'etcd'], [apiserver, 'kube-apiserver']];
    await poll(
      'kube-apiserver /readyz',
      async () => (await get(`${server}/readyz`, { ca: caPem, token: adminToken })).status === 200,
      watchApi,
    );
    await poll(
      'namespace "default"',
      async () => (await get(`${server}/api/v1/namespaces/default`, { ca: caPem, token: adminToken })).status === 200,
      watchApi,
    );

    // kube-controller-manager
    let cm: ChildProcess | undefined;
    if (opts.controllerManager) {
      const controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
      cm = await spawnLogged('kube-controller-manager', bins.kubeControllerManager, [
        '--kubeconfig', kubeconfigPath,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        `--controllers=${controllers.join(',')}`,
        '--service-account-private-key-file', join(dir, 'sa.key'),
        '--root-ca-file', join(dir, 'ca.crt'),
        '--profiling=false',
      ]);
      // With serviceaccount-controller on, the `default` ServiceAccount in
      // `default` shows the controllers are running.
      if (controllers.includes('serviceaccount-controller') || controllers.includes('*')) {
        await poll(
          'kube-controller-manager (default ServiceAccount)',
          async () =>
            (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { ca: caPem, token: adminToken }))
              .status === 200,
          [...watchApi, [cm, 'kube-controller-manager']],
        );
      }
    }

    const identities = new Map<string, ClusterIdentity>();
    const kubeConfigForToken = (tok: string, user = 'test-user'): KubeConfig =>
      loadKubeConfig(kubeconfigObject(server, caPem, user, tok));
    let stopped: Promise<void> | undefined;

    const cluster: TestCluster = {
      server,
      caPem,
      caFile: join(dir, 'ca.crt'),
      kubeconfigPath,
      kubeconfig,
      adminToken,
      dir,
      pids: {
        etcd: etcd.pid as number,
        kubeApiserver: apiserver.pid as number,
        ...(cm ? { kubeControllerManager: cm.pid as number } : {}),
      },
      startupMs: Date.now() - t0,
      userIdentity(name: string): ClusterIdentity {
        const cached = identities.get(`user:${name}`);
        if (cached) return cached;
        const u = userTokens.get(name);
        if (!u) throw new Error(`unknown test user ${name}; declare it in startTestCluster({ users })`);
        const file = join(dir, `user-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
        const obj = kubeconfigObject(server, caPem, name, u.token);
        // Synchronous write keeps userIdentity() synchronous.
        writeFileSync(file, JSON.stringify(obj, null, 2) + '\n', { mode: 0o600 });
        const id: ClusterIdentity = { user: name, token: u.token, kubeconfig: loadKubeConfig(obj), kubeconfigPath: file };
        identities.set(`user:${name}`, id);
        return id;
      },
      async serviceAccountIdentity(namespace, name, saOpts = {}): Promise<ClusterIdentity> {
        const core = kubeconfig.makeApiClient(CoreV1Api);
        try {
          await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
        } catch (err) {
          if (!(err instanceof ApiException && err.code === 409)) throw err;
        }
        const tr = await core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: { spec: { audiences: [], expirationSeconds: saOpts.expirationSeconds ?? 3600 } },
        });
        const tok = tr.status?.token;
        if (!tok) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
        const user = `system:serviceaccount:${namespace}:${name}`;
        const file = `sa-${namespace}-${name}.kubeconfig`;
        const kc = await writeKubeconfig(file, user, tok);
        return { user, token: tok, kubeconfig: kc, kubeconfigPath: join(dir, file) };
      },
      kubeConfigForToken,
      logTail: (component, lines = 40) => fileTail(logPath(component), lines),
      stop(graceMs = 10_000): Promise<void> {
        stopped ??= stopAll(graceMs);
        return stopped;
      },
    };
    return cluster;
  } catch (err) {
    // Read the logs before stopAll() removes the temp dir.
    const wrapped =
      err instanceof ClusterStartError
        ? err
        : new ClusterStartError(
            `cluster start failed: ${err instanceof Error ? err.message : String(err)}\n` +
              (await logs(['etcd', 'kube-apiserver', 'kube-controller-manager']).catch(() => '')),
          );
    await stopAll(2000).catch(() => undefined);
    throw wrapped;
  }
}
