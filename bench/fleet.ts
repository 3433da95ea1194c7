/**
 * A deterministic generator of realistic fleets for benchmarks and scale
 * tests: N agents, each with its tools, memory, deployments to staging and
 * prod, an eval, a secret and AgBOM settings, grouped in teams of 50 per namespace with
 * their routes, policies, budgets and secrets, plus shared adapters, models,
 * MCP servers and environments. About ten documents of ~1 KB per agent, one
 * file per resource, as GitOps repositories are usually laid out.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where the benchmarks keep their fleets and outputs between runs. */
export const BENCH_WORK = path.join(tmpdir(), 'joch-bench');

export interface FleetStats {
  readonly agents: number;
  readonly files: number;
  readonly documents: number;
  readonly bytes: number;
}

const AGENTS_PER_TEAM = 50;
const SIDE_EFFECTS = ['read_only', 'external_write', 'communication', 'read_only', 'local_write'] as const;

export function generateFleet(dir: string, agents: number): FleetStats {
  rmSync(dir, { recursive: true, force: true });
  let files = 0;
  let documents = 0;
  let bytes = 0;
  const write = (rel: string, ...docs: string[]) => {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const text = docs.join('---\n');
    writeFileSync(file, text);
    files++;
    documents += docs.length;
    bytes += Buffer.byteLength(text);
  };

  write('joch.yaml', 'defaultNamespace: platform\n');
  writeShared(write);
  const teams = Math.max(1, Math.ceil(agents / AGENTS_PER_TEAM));
  for (let t = 0; t < teams; t++) writeTeam(write, t);
  for (let i = 0; i < agents; i++) writeAgent(write, i);
  return { agents, files: files - 1, documents: documents - 1, bytes };
}

type Write = (rel: string, ...docs: string[]) => void;

/** Labels and annotations of the kind real repositories carry: owners, runbooks, cost centres. */
function meta(ns: string, name: string): string {
  return `  annotations:
    joch.dev/owner: ${ns}-owners@example.com
    joch.dev/runbook: https://runbooks.example.com/${ns}/${name}
    joch.dev/change-ticket: CHG-${(name.length * 7919) % 100000}
    joch.dev/notes: >-
      Managed by the ${ns} team. Changes go through review by two owners and are
      promoted from staging to prod after the nightly evaluation passes.
`;
}

const team = (i: number) => `team-${String(Math.floor(i / AGENTS_PER_TEAM)).padStart(3, '0')}`;
const agentName = (i: number) => `agent-${String(i).padStart(5, '0')}`;

function writeShared(write: Write): void {
  for (const [name, lang] of [
    ['openai-agents-sdk', 'python'],
    ['claude-agent-sdk', 'typescript'],
    ['langgraph', 'python'],
  ] as const) {
    write(
      `platform/adapters/${name}.yaml`,
      `apiVersion: joch.dev/v1alpha1
kind: FrameworkAdapter
metadata:
  name: ${name}
spec:
  framework: ${name}
  language: ${lang}
  adapterImage: ghcr.io/example/joch-adapter-${name}:1.0.0
  capabilities:
    toolBinding: true
    mcpBinding: true
    modelRouterBinding: true
    streaming: true
    a2a: true
`,
    );
  }
  for (const [name, provider] of [
    ['gpt-5-thinking', 'openai'],
    ['gpt-5-mini', 'openai'],
    ['claude-sonnet', 'anthropic'],
    ['claude-haiku', 'anthropic'],
    ['gemini-pro', 'google'],
    ['text-embedding-3-large', 'openai'],
  ] as const) {
    write(
      `platform/models/${name}.yaml`,
      `apiVersion: model.joch.dev/v1alpha1
kind: Model
metadata:
  name: ${name}
  labels:
    provider: ${provider}
spec:
  provider: ${provider}
  model: ${name}
  auth:
    secretRef:
      name: ${provider}-api-key
  capabilities:
    text: true
    toolCalling: true
    structuredOutput: true
    streaming: true
  limits:
    contextWindowTokens: 200000
  pricing:
    currency: USD
    inputPerMillionTokens: 3
    outputPerMillionTokens: 15
  routing:
    regions: [eu, us]
`,
    );
  }
  for (const provider of ['openai', 'anthropic', 'google']) {
    write(
      `platform/secrets/${provider}-api-key.yaml`,
      `apiVersion: ops.joch.dev/v1alpha1
kind: Secret
metadata:
  name: ${provider}-api-key
  namespace: platform
spec:
  source:
    type: kubernetes
    name: ${provider}-credentials
    key: api-key
`,
    );
  }
  for (const name of ['github', 'jira', 'postgres-readonly', 'confluence']) {
    write(
      `platform/mcp-servers/${name}.yaml`,
      `apiVersion: tools.joch.dev/v1alpha1
kind: MCPServer
metadata:
  name: ${name}
spec:
  transport: streamable_http
  endpoint:
    url: https://mcp.example.com/${name}
  security:
    sandbox: true
    allowStdio: false
    pinServerVersion: true
    pinnedVersion: 1.2.0
    trustedPublisher: example
    minTrustScore: 0.75
`,
    );
  }
  for (const env of ['dev', 'staging', 'prod']) {
    write(
      `platform/environments/${env}.yaml`,
      `apiVersion: ops.joch.dev/v1alpha1
kind: Environment
metadata:
  name: ${env}
  labels:
    env: ${env}
spec:
  region: eu-central
  runtime:
    orchestrator: kubernetes
    cluster: ${env}-agent-cluster
  compliance:
    auditRequired: ${env === 'prod'}
`,
    );
  }
}

function writeTeam(write: Write, t: number): void {
  const ns = `team-${String(t).padStart(3, '0')}`;
  write(
    `${ns}/route.yaml`,
    `apiVersion: model.joch.dev/v1alpha1
kind: ModelRoute
metadata:
  name: default-route
  namespace: ${ns}
spec:
  requirements:
    toolCalling: true
    contextWindowMin: 100000
  strategy:
    primary: openai:gpt-5-thinking
    fallback:
      - anthropic:claude-sonnet
  constraints:
    maxCostUsdPerExecution: 5
`,
  );
  write(
    `${ns}/policies/external-writes.yaml`,
    `apiVersion: joch.dev/v1alpha1
kind: Policy
metadata:
  name: external-writes-need-approval
  namespace: ${ns}
spec:
  appliesTo:
    agents:
      selector:
        matchLabels:
          team: ${ns}
  rules:
    - name: external-writes
      when:
        tool.sideEffect: external_write
      require:
        approval: human
    - name: messages
      when:
        tool.sideEffect: communication
      require:
        approval: human
`,
  );
  write(
    `${ns}/policies/cost-cap.yaml`,
    `apiVersion: joch.dev/v1alpha1
kind: Policy
metadata:
  name: cost-cap
  namespace: ${ns}
spec:
  appliesTo:
    agents:
      selector:
        matchExpressions:
          - key: env
            operator: In
            values: [prod, staging]
  rules:
    - name: run-cap
      when:
        cost.runUsd: ">5"
      action:
        deny: true
        reason: run-cost-cap
`,
  );
  write(
    `${ns}/budget.yaml`,
    `apiVersion: ops.joch.dev/v1alpha1
kind: Budget
metadata:
  name: monthly
  namespace: ${ns}
spec:
  scope:
    namespaces: [${ns}]
  limits:
    monthlyUsd: 5000
    perRunUsd: 5
  enforcement:
    onSoftLimit: alert
    onHardLimit: deny
`,
  );
}

function writeAgent(write: Write, i: number): void {
  const ns = team(i);
  const name = agentName(i);
  const tools = [0, 1, 2].map((k) => `${name}.tool-${k}`);
  write(
    `${ns}/agents/${name}.yaml`,
    `apiVersion: joch.dev/v1alpha1
kind: Agent
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    team: ${ns}
    env: prod
    tier: "${i % 3}"
    cost-center: cc-${ns}
${meta(ns, name)}spec:
  displayName: Agent ${i}
  description: >
    Handles incoming requests for queue ${i}, drafts answers and escalates
    to a human reviewer when the request is ambiguous or risky.
  framework:
    adapterRef:
      name: ${['openai-agents-sdk', 'claude-agent-sdk', 'langgraph'][i % 3]}
    pythonModule: agents.queue_${i}:agent
    image: ghcr.io/example/${name}:1.${i % 10}.0
  modelRoute:
    routeRef:
      name: default-route
  tools:
${tools.map((t) => `    - name: ${t}`).join('\n')}
  mcpServers:
    - name: ${['github', 'jira', 'postgres-readonly', 'confluence'][i % 4]}
  memories:
    working:
      name: ${name}-memory
  budgets:
    tokenLimitPerRun: 200000
    costLimitUsdPerDay: 25
    toolCallLimitPerRun: 100
  observability:
    tracing: enabled
    agbom: enabled
    redactSensitiveData: true
`,
  );
  tools.forEach((tool, k) => {
    const level = SIDE_EFFECTS[(i + k) % SIDE_EFFECTS.length] as string;
    write(
      `${ns}/tools/${tool}.yaml`,
      `apiVersion: tools.joch.dev/v1alpha1
kind: Tool
metadata:
  name: ${tool}
  namespace: ${ns}
${meta(ns, tool)}spec:
  type: rest
  description: Tool ${k} of ${name}, calling the queue service.
  endpoint:
    method: ${level === 'read_only' ? 'GET' : 'POST'}
    url: https://queue-${i}.internal.example.com/v1/op-${k}
    auth:
      type: bearer
      secretRef:
        name: ${name}-token
  inputSchema:
    type: object
    required: [id]
    properties:
      id: { type: string }
      note: { type: string }
  sideEffects:
    level: ${level}
    idempotent: ${level === 'read_only'}
    requiresApproval: ${level !== 'read_only' && level !== 'local_write'}
  safety:
    allowedAgents: [${name}]
    rateLimit:
      callsPerMinute: 30
`,
    );
  });
  write(
    `${ns}/memory/${name}-memory.yaml`,
    `apiVersion: memory.joch.dev/v1alpha1
kind: Memory
metadata:
  name: ${name}-memory
  namespace: ${ns}
${meta(ns, `${name}-memory`)}spec:
  type: working
  backend:
    type: redis
    connectionSecretRef:
      name: ${name}-token
  retention:
    ttl: 24h
  access:
    readableBy: [${name}]
    writableBy: [${name}]
`,
  );
  for (const env of ['staging', 'prod']) {
    write(
      `${ns}/deployments/${name}-${env}.yaml`,
      `apiVersion: ops.joch.dev/v1alpha1
kind: Deployment
metadata:
  name: ${name}-${env}
  namespace: ${ns}
${meta(ns, `${name}-${env}`)}spec:
  agentRef:
    name: ${name}
  environmentRef:
    name: ${env}
  replicas: ${env === 'prod' ? 2 : 1}
  rollout:
    strategy: rolling
    maxUnavailable: 0
  runtime:
    adapter: kubernetes
    workerImage: ghcr.io/example/joch-worker:1.0.0
${env === 'prod' ? `  promotion:\n    requiresEval: ${name}-quality\n` : ''}`,
    );
  }
  write(
    `${ns}/evals/${name}-quality.yaml`,
    `apiVersion: ops.joch.dev/v1alpha1
kind: Eval
metadata:
  name: ${name}-quality
  namespace: ${ns}
${meta(ns, `${name}-quality`)}spec:
  target:
    kind: Agent
    name: ${name}
  dataset:
    type: file
    uri: ./evals/${name}.jsonl
  metrics:
    - name: task_success
      type: llm_judge
      judgeModelRef:
        name: gpt-5-mini
  thresholds:
    task_success: 0.85
  releaseGate:
    enabled: true
    blocksPromotionTo: prod
`,
  );
  write(
    `${ns}/agboms/${name}-agbom.yaml`,
    `apiVersion: ops.joch.dev/v1alpha1
kind: AgBOM
metadata:
  name: ${name}-agbom
  namespace: ${ns}
${meta(ns, `${name}-agbom`)}spec:
  agentRef:
    name: ${name}
  formats: [cyclonedx, spdx, swid]
  refresh:
    onChange: true
  components:
    models: true
    tools: true
    mcpServers: true
    memory: true
    policies: true
    secrets: false
`,
  );
  write(
    `${ns}/secrets/${name}-token.yaml`,
    `apiVersion: ops.joch.dev/v1alpha1
kind: Secret
metadata:
  name: ${name}-token
  namespace: ${ns}
${meta(ns, `${name}-token`)}spec:
  source:
    type: kubernetes
    name: ${name}-credentials
    key: token
`,
  );
}

/** `node --import tsx bench/fleet.ts DIR AGENTS`: writes a fleet and prints its size. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, n] = process.argv.slice(2);
  if (!dir || !n) {
    process.stderr.write('usage: fleet.ts DIR AGENTS\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(generateFleet(dir, Number(n)))}\n`);
}

/** The fleet of a size, generated once and kept under BENCH_WORK between runs. */
export function keptFleet(agents: number): { dir: string; stats: FleetStats } {
  const dir = path.join(BENCH_WORK, `fleet-${agents}`);
  const marker = path.join(dir, '.stats.json');
  if (existsSync(marker)) return { dir, stats: JSON.parse(readFileSync(marker, 'utf8')) as FleetStats };
  mkdirSync(BENCH_WORK, { recursive: true });
  const stats = generateFleet(dir, agents);
  writeFileSync(marker, JSON.stringify(stats));
  return { dir, stats };
}
