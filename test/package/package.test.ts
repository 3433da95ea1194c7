/**
 * The package as a user gets it: `npm pack`, a global install of the tarball
 * into a temporary prefix with production dependencies only, and the
 * installed `joch` run on a fleet outside this checkout. Then the Dockerfile,
 * which cannot be built here (no container engine): what it copies exists,
 * its dependency stage runs as written on the unpacked tarball, and its
 * entrypoint reconciles a repository from that copy.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/fleet.js';
import { copyOf, dockerIgnore, envOf, execForm, parseDockerfile, type Instruction, type Stage } from './dockerfile.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const IMAGE = `ghcr.io/peasantsai/joch:${PKG.version}`;
const SLOW = 240_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Children run on the Node that runs the tests (first on PATH), and npm
 * prefers its cache: the registry is asked only for what the cache lacks.
 */
function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): Run {
  const env = {
    ...process.env,
    // No progress lines on stderr, which these tests read, when the suite itself runs in CI.
    CI: '',
    ...opts.env,
    PATH: [path.dirname(process.execPath), opts.env?.PATH ?? process.env.PATH].join(path.delimiter),
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts, env });
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else out.push(p);
  }
  return out.sort();
}

function sameTree(a: string, b: string): void {
  const files = listFiles(a);
  expect(files.length).toBeGreaterThan(0);
  expect(listFiles(b)).toEqual(files);
  for (const f of files) expect(readFileSync(path.join(b, f)), f).toEqual(readFileSync(path.join(a, f)));
}

/** A Node binary from the registry's `node` package (npm's cache first), installed under the test's folder. */
function nodeBinary(spec: string): string {
  const prefix = path.join(tmp, spec.replace(/[^a-z0-9.]/gi, '-'));
  mkdirSync(prefix, { recursive: true });
  ok(run('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', spec], { cwd: prefix }), `npm install ${spec}`);
  return path.join(prefix, 'node_modules', 'node', 'bin', 'node');
}

let tmp: string;
let tarball: string;
let packed: string[];
let unpacked: string;

beforeAll(() => {
  tmp = realpathSync(mkdtempSync(path.join(tmpdir(), 'joch-package-')));
  // A real `npm pack`: its `prepare` builds dist/ (and the precompiled validators).
  const pack = ok(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT }), 'npm pack');
  const [result] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(tmp, result.filename);
  packed = result.files.map((f) => f.path).sort();
  unpacked = path.join(tmp, 'unpacked');
  mkdirSync(unpacked);
  ok(run('tar', ['-xzf', tarball, '-C', unpacked]), 'tar');
}, SLOW);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the compiled CLI, the schemas and the templates, and no sources, tests or build state', () => {
    expect(packed).toContain('bin/joch.js');
    expect(packed).toContain('dist/cli/main.js');
    expect(packed).toContain('dist/pipeline/index.d.ts');
    expect(packed).toContain('dist/schema/validators.generated.cjs');
    // What bin/joch.js runs: the bundle, its worker, its validators and the licences of what it inlines.
    for (const f of ['joch.cjs', 'code-digest.txt', 'worker.js', 'validators.generated.cjs', 'THIRD-PARTY-NOTICES.txt']) expect(packed).toContain(`dist/bundle/${f}`);
    // bin/joch.js is CommonJS by its folder's package.json.
    expect(packed).toContain('bin/package.json');
    for (const f of readdirSync(path.join(ROOT, 'schemas'))) expect(packed).toContain(`schemas/${f}`);
    // Every template file, including the scaffold of `joch init` and its dot-folders.
    const templates = readdirSync(path.join(ROOT, 'templates'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
    expect(templates).toContain('templates/init/.jochignore');
    for (const f of templates) expect(packed).toContain(f);
    const strays = packed.filter((f) => /^(src|test|bench|examples|docs)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts') || f.endsWith('.map') || f.endsWith('.tsbuildinfo'));
    expect(strays).toEqual([]);
  });

  it('declares no install-time script and keeps development tools out of its dependencies', () => {
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'package/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      dependencies: Record<string, string>;
      engines: { node: string };
    };
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(manifest.scripts?.[hook]).toBeUndefined();
    for (const tool of ['tsx', 'typescript', 'vitest', 'eslint', 'node', '@types/node']) expect(manifest.dependencies[tool]).toBeUndefined();
    expect(manifest.engines.node).toBe('>=22.19');
  });

  it('exports the library entries it names', () => {
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'package/package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      const files = typeof target === 'string' ? [target] : Object.values(target);
      for (const f of files.filter((t) => !t.includes('*'))) expect(existsSync(path.join(unpacked, 'package', f)), `${entry}: ${f}`).toBe(true);
    }
  });
});

describe('bin/joch.js', () => {
  it('refuses a Node older than package.json engines, naming both versions', () => {
    const dir = path.join(tmp, 'engines');
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    for (const f of ['joch.js', 'package.json']) cpSync(path.join(ROOT, 'bin', f), path.join(dir, 'bin', f));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', engines: { node: '>=999.1' } }));
    const r = run(process.execPath, [path.join(dir, 'bin', 'joch.js'), 'validate'], { cwd: dir });
    expect(r).toEqual({ code: 2, stdout: '', stderr: `joch: Node.js >=999.1 is required; this is ${process.version}\n` });
  });
});

describe('a global install of the tarball', () => {
  let prefix: string;
  let installed: string;
  let install: Run;

  beforeAll(() => {
    prefix = path.join(tmp, 'prefix');
    install = ok(
      run('npm', ['install', '--global', '--prefix', prefix, '--omit=dev', '--foreground-scripts', tarball], { cwd: tmp }),
      'npm install --global',
    );
    installed = path.join(prefix, 'lib', 'node_modules', PKG.name);
  }, SLOW);

  it('runs no lifecycle script: no build, no install hook', () => {
    // With --foreground-scripts npm prints "> name@version event" before any script it runs.
    expect(`${install.stdout}\n${install.stderr}`).not.toMatch(/^> \S+@\S+ (preinstall|install|postinstall|prepare)\b/m);
  });

  it('installs production dependencies only', () => {
    const modules = readdirSync(path.join(installed, 'node_modules'));
    for (const dep of Object.keys(PKG.dependencies)) {
      const top = dep.split('/')[0] ?? dep;
      expect(modules, dep).toContain(top);
    }
    const devOnly = Object.keys(PKG.devDependencies).filter((d) => !(d in PKG.dependencies) && !d.startsWith('@types/'));
    for (const dev of devOnly) expect(existsSync(path.join(installed, 'node_modules', dev)), dev).toBe(false);
  });

  it('validates and compiles a fleet in a folder outside the checkout, byte for byte as the checkout does', () => {
    const work = path.join(tmp, 'work');
    const fleet = path.join(work, 'fleet');
    cpSync(path.join(ROOT, 'examples', 'fleet'), fleet, { recursive: true });
    const joch = path.join(prefix, 'bin', 'joch');

    const version = ok(run(joch, ['--version'], { cwd: fleet }), 'joch --version');
    expect(version.stdout).toBe(`${PKG.version}\n`);

    const validate = run(joch, ['validate'], { cwd: fleet });
    expect(validate.stderr).toBe('');
    expect(validate.stdout).toMatch(/^OK 0 errors, 0 warnings/m);
    expect(validate.code).toBe(0);

    const compile = run(joch, ['compile', '--output-dir', path.join(work, 'installed')], { cwd: fleet });
    expect(compile.stderr).toBe('');
    expect(compile.code).toBe(0);
    const fromCheckout = ok(run(process.execPath, [path.join(ROOT, 'bin', 'joch.js'), 'compile', '--output-dir', path.join(work, 'checkout')], { cwd: fleet }), 'checkout compile');
    expect(fromCheckout.code).toBe(0);
    sameTree(path.join(work, 'checkout'), path.join(work, 'installed'));
    expect(listFiles(path.join(work, 'installed')).some((f) => f.startsWith('crds/'))).toBe(true);
  });

  // The oldest Node that package.json allows and the newest major: bin/joch.js runs the command's
  // script through node:vm with options that both must have, and a start uses the code cache the one before wrote.
  for (const [major, spec] of [
    [22, 'node@22.19.0'],
    [26, 'node@26'],
  ] as const) {
    it(`runs on Node ${major}, its second start from the script's code cache`, () => {
      const node = nodeBinary(spec);
      expect(ok(run(node, ['--version']), `${spec} --version`).stdout).toMatch(new RegExp(`^v${major}\\.`));
      const fleet = path.join(tmp, `node-${major}-fleet`);
      cpSync(path.join(ROOT, 'examples', 'fleet'), fleet, { recursive: true });
      const compileCache = path.join(tmp, `node-${major}-compile-cache`);
      // CI unset: under CI the progress lines print plainly on stderr.
      const env = { ...process.env, CI: '', NODE_COMPILE_CACHE: compileCache };
      const bin = path.join(installed, 'bin', 'joch.js');

      const first = run(node, [bin, 'validate'], { cwd: fleet, env });
      expect(first.stderr).toBe('');
      expect(first.stdout).toMatch(/^OK 0 errors, 0 warnings/m);
      expect(first.code).toBe(0);
      const caches = listFiles(compileCache).filter((f) => f.includes('joch-script/') && f.endsWith('.v8'));
      expect(caches).toHaveLength(1);
      const written = statSync(path.join(compileCache, caches[0] ?? '')).mtimeMs;

      // V8 accepted it: a rejected cache would be written again.
      expect(run(node, [bin, 'validate'], { cwd: fleet, env })).toEqual(first);
      expect(statSync(path.join(compileCache, caches[0] ?? '')).mtimeMs).toBe(written);
      expect(run(node, [bin, '--version'], { cwd: fleet, env })).toEqual({ code: 0, stdout: `${PKG.version}\n`, stderr: '' });
    }, SLOW);
  }

  it('checks files on worker threads, with the output of one thread', () => {
    const fleet = path.join(tmp, 'threads-fleet');
    generateFleet(fleet, 30);
    const joch = path.join(prefix, 'bin', 'joch');
    // Uncached: with the cache, the second run would start from the state of the first and check nothing.
    const one = run(joch, ['validate', '-o', 'json', '--timings', '--no-cache'], { cwd: fleet, env: { ...process.env, JOCH_THREADS: '1' } });
    const two = run(joch, ['validate', '-o', 'json', '--timings', '--no-cache'], { cwd: fleet, env: { ...process.env, JOCH_THREADS: '2' } });
    // How many files the worker answers before the main thread runs out of work and takes its chunks back depends on the machine.
    expect(two.stderr).toMatch(/files \(2 threads, \d+ by workers\)/);
    expect(two.code).toBe(one.code);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(two.stdout)).toMatchObject({ summary: { errors: 0 } });
    // The installed worker module runs: with the main thread only waiting, it checks every file (a script file: a worker inherits the flags of an -e).
    const script = path.join(tmp, 'worker-check.mjs');
    writeFileSync(
      script,
      `const { checkFiles } = await import(${JSON.stringify(path.join(installed, 'dist', 'schema', 'parallel.js'))});
      const counts = {};
      const file = { path: 'a.yaml', bytes: new TextEncoder().encode('apiVersion: joch.dev/v1alpha1\\nkind: Tool\\nmetadata: {name: a}\\n') };
      const options = { defaultNamespace: 'default', limits: { maxAliasCount: 100, maxDocumentsPerFile: 10 }, schema: true };
      const [r] = await checkFiles(Array(300).fill(file), options, { threads: 2, mainShare: false, onChecked: (by, n) => (counts[by] = (counts[by] ?? 0) + n) });
      console.log(JSON.stringify(counts), r.load.documents.length);\n`,
    );
    expect(ok(run(process.execPath, [script], { cwd: tmp }), 'worker').stdout).toBe('{"worker":300} 1\n');
  });

  it('serves its library entries by package name, with their type declarations', () => {
    const user = path.join(tmp, 'library-user');
    mkdirSync(path.join(user, 'node_modules'), { recursive: true });
    symlinkSync(installed, path.join(user, 'node_modules', PKG.name), 'dir');
    const script = `const lib = await import('${PKG.name}'); const cli = await import('${PKG.name}/cli');
      const schema = await import('${PKG.name}/schemas/agent.schema.json', { with: { type: 'json' } });
      console.log(typeof lib.runValidate, typeof cli.runCli, schema.default.title);`;
    const r = ok(run(process.execPath, ['--input-type=module', '-e', script], { cwd: user }), 'import');
    expect(r.stdout).toBe('function function Agent\n');
    expect(existsSync(path.join(installed, 'dist', 'pipeline', 'index.d.ts'))).toBe(true);
  });

  it('writes the schemas it ships into a repository for editors', () => {
    const repo = path.join(tmp, 'editor');
    cpSync(path.join(ROOT, 'examples', 'fleet'), repo, { recursive: true });
    const r = run(path.join(prefix, 'bin', 'joch'), ['schemas'], { cwd: repo });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    sameTree(path.join(ROOT, 'schemas'), path.join(repo, '.joch', 'schemas'));
    expect(readFileSync(path.join(repo, '.vscode', 'settings.json'), 'utf8')).toContain('"./.joch/schemas/joch.schema.json"');
  });

  it('reports a broken fleet at its file and line, and exits 1', () => {
    const broken = path.join(tmp, 'broken');
    cpSync(path.join(ROOT, 'examples', 'fleet'), broken, { recursive: true });
    const agent = path.join(broken, 'support-platform', 'agents', 'support-triage.yaml');
    const lines = readFileSync(agent, 'utf8').split('\n');
    const at = lines.findIndex((l) => /^\s+- name: zendesk\.search$/.test(l));
    expect(at).toBeGreaterThanOrEqual(0);
    lines[at] = lines[at]!.replace('zendesk.search', 'zendesk.serch');
    writeFileSync(agent, lines.join('\n'));
    const r = run(path.join(prefix, 'bin', 'joch'), ['validate'], { cwd: broken });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`support-platform/agents/support-triage.yaml:${at + 1}:`);
    expect(r.stdout).toContain('"zendesk.serch" not found');
  });
});

describe('the Dockerfile', () => {
  const dockerfile = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const stage = (name: string): Stage => {
    const s = dockerfile.stages.find((st) => st.name === name);
    if (!s) throw new Error(`the Dockerfile has no stage ${name}`);
    return s;
  };
  const instructions = (s: Stage, op: string): Instruction[] => s.instructions.filter((i) => i.op === op);
  const runtime = dockerfile.stages.at(-1)!;
  /** The image's /opt/joch, reproduced from the unpacked tarball by the deps stage's own commands. */
  let image: string;

  beforeAll(() => {
    const deps = stage('deps');
    const workdir = instructions(deps, 'WORKDIR')[0]?.args ?? '';
    expect(workdir).toBe('/opt/joch');
    image = path.join(tmp, 'image', 'opt', 'joch');
    mkdirSync(image, { recursive: true });
    for (const copy of instructions(deps, 'COPY').map(copyOf)) {
      for (const source of copy.sources) {
        // The build stage unpacks the tarball it packed under /pkg; npm's tarballs hold one folder, package/.
        const from = copy.from === 'build' ? path.join(unpacked, path.relative('/pkg', source)) : path.join(ROOT, source);
        expect(existsSync(from), `${copy.from ?? 'context'}:${source}`).toBe(true);
        // Docker's rules: a folder's contents go into the destination, a file into it by its name.
        const dest = path.resolve(image, copy.dest);
        cpSync(from, statSync(from).isDirectory() ? dest : path.join(dest, path.basename(source)), { recursive: true });
      }
    }
    for (const r of instructions(deps, 'RUN')) ok(run('sh', ['-c', r.args], { cwd: image }), `deps stage, line ${r.line}`);
  }, SLOW);

  it('uses Node 24 and names its stages build, deps and runtime', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    for (const s of dockerfile.stages) expect(s.base).toMatch(/^node:24[.-]/);
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const ignored = dockerIgnore(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
    const fromContext = dockerfile.stages.flatMap((s) => instructions(s, 'COPY').map(copyOf)).filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext.map((s) => s.replace(/\/$/, ''))) {
      expect(existsSync(path.join(ROOT, source)), source).toBe(true);
      const files = statSync(path.join(ROOT, source)).isDirectory() ? listFiles(path.join(ROOT, source)).map((f) => `${source}/${f}`) : [source];
      expect(files.filter(ignored), `${source}: left out of the build context`).toEqual([]);
    }
    // And the context holds nothing else: no node_modules, no tests, no local state.
    for (const stray of ['node_modules/x', 'test/package/package.test.ts', 'dist/cli/main.js', '.git/HEAD', 'examples/fleet/joch.yaml']) expect(ignored(stray), stray).toBe(true);
  });

  it('gives the build stage everything the packed package is made of', () => {
    const copied = new Set(instructions(stage('build'), 'COPY').map(copyOf).flatMap((c) => c.sources).map((s) => s.replace(/\/$/, '')));
    const needed = PKG.files
      .filter((f) => !f.startsWith('!'))
      .map((f) => f.replace(/\/$/, ''))
      .flatMap((f) => (f === 'dist' ? ['src', 'tsconfig.json', 'tsconfig.build.json'] : [f]));
    for (const f of ['package.json', 'package-lock.json', 'README.md', ...needed]) expect(copied, f).toContain(f);
    const build = instructions(stage('build'), 'RUN').map((r) => r.args).join('\n');
    expect(build).toMatch(/npm ci --ignore-scripts/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm pack --ignore-scripts --pack-destination \/pkg/);
  });

  it('installs production dependencies only, with no script, at the lockfile versions', () => {
    const modules = path.join(image, 'node_modules');
    for (const dep of Object.keys(PKG.dependencies)) expect(existsSync(path.join(modules, dep)), dep).toBe(true);
    for (const dev of ['typescript', 'tsx', 'vitest', 'eslint', 'node']) expect(existsSync(path.join(modules, dev)), dev).toBe(false);
    expect(existsSync(path.join(image, 'package-lock.json'))).toBe(false);
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    for (const dep of Object.keys(PKG.dependencies)) {
      const got = JSON.parse(readFileSync(path.join(modules, dep, 'package.json'), 'utf8')) as { version: string };
      expect(got.version, dep).toBe(lock.packages[`node_modules/${dep}`]?.version);
    }
  });

  it('runs as the non-root user the install manifests expect, `joch sync` as the entrypoint', () => {
    expect(instructions(runtime, 'USER').at(-1)?.args).toBe('65532:65532');
    const deployment = parseAllDocuments(readFileSync(path.join(ROOT, 'templates', 'deployment.yaml'), 'utf8'))[0]?.toJS() as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number }; containers: { image: string; args?: string[] }[] } } };
    };
    const pod = deployment.spec.template.spec;
    expect([pod.securityContext.runAsUser, pod.securityContext.runAsGroup]).toEqual([65532, 65532]);
    expect(pod.containers[0]?.image).toBe(IMAGE);
    // The entrypoint already says `sync`; arguments are its flags only.
    expect(pod.containers[0]?.args?.[0]).not.toBe('sync');
    const entrypoint = execForm(instructions(runtime, 'ENTRYPOINT').at(-1)!);
    expect(entrypoint).toEqual(['node', '/opt/joch/bin/joch.js', 'sync']);
    expect(instructions(runtime, 'COPY').map(copyOf)).toEqual([{ from: 'deps', sources: ['/opt/joch'], dest: '/opt/joch' }]);
  });

  it('names the image the templates run in the README, with how to build it', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`docker build -t ${IMAGE} .`);
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toContain(`docker build -t ${IMAGE} .`);
  });

  it('its entrypoint, run from the production copy, prints the usage of joch sync and reconciles a repository', () => {
    const entrypoint = execForm(instructions(runtime, 'ENTRYPOINT').at(-1)!).map((w) => w.replace('/opt/joch', image));
    const [cmd = '', ...args] = entrypoint;
    const help = run(cmd, [...args, '--help'], { cwd: tmp });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: joch sync /);

    // A repository of the example fleet, synced once to a folder: the Git
    // source, the pipeline and the writer all load from production dependencies.
    const repo = path.join(tmp, 'sync-repo');
    cpSync(path.join(ROOT, 'examples', 'fleet'), repo, { recursive: true });
    const git = (...a: string[]) => ok(run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...a], { cwd: repo }), `git ${a[0]}`);
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-q', '-m', 'fleet');
    const env = Object.assign({}, ...instructions(runtime, 'ENV').map(envOf)) as Record<string, string>;
    expect(env.JOCH_SYNC_CACHE_DIR).toBe('/var/cache/joch');
    const out = path.join(tmp, 'sync-out');
    const sync = run(cmd, [...args, '--once', '--repo', repo, '--branch', 'main', '--root', '.', '--target', 'folder', '--output', out, '--no-status'], {
      cwd: tmp,
      env: { ...env, HOME: tmp, JOCH_SYNC_CACHE_DIR: path.join(tmp, 'sync-cache') },
    });
    expect(sync.code, sync.stderr).toBe(0);
    expect(listFiles(out).some((f) => f.startsWith('crds/'))).toBe(true);
  });
});
