/**
 * joch.yaml's schema, in zod: it validates and fills in defaults, explains
 * every mistake at its place, and is the source of
 * schemas/joch-config.schema.json (`npm run schemas`). Its own module, which
 * nothing on the path of a common, valid joch.yaml loads: index.ts reads
 * those without zod (common.ts) and loads this module only for the others.
 */
import { z } from 'zod';

const SeverityOverride = z.enum(['off', 'info', 'warning', 'error']);

/** A Kubernetes resource quantity such as `250m`, `1`, `512Mi` or `2Gi`. */
const QUANTITY_PATTERN = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const Quantity = z.string().regex(QUANTITY_PATTERN, 'must be a Kubernetes quantity such as 250m, 1, 512Mi or 2Gi');
const ResourceList = z.strictObject({ cpu: Quantity.optional(), memory: Quantity.optional(), 'ephemeral-storage': Quantity.optional() });
/** Container requests and limits; each layer fills only what the more specific ones leave unset. */
const Resources = z.strictObject({ requests: ResourceList.optional(), limits: ResourceList.optional() });

/** How agent workloads are bounded and isolated (docs/GOVERNANCE.md). */
const WorkloadsSchema = z.strictObject({
  /** `enforce` refuses pods that do not meet the restricted Pod Security Standard; `warn` only warns and audits. */
  podSecurity: z.enum(['enforce', 'warn']).default('enforce'),
  /** Requests and limits of every agent container, under the Environment and Team defaults. */
  resources: Resources.optional(),
  /** Deadline of each Execution's Job: a run that hangs is stopped rather than holding its quota forever. */
  executionDeadlineSeconds: z.number().int().positive().default(3600),
  /** Per Environment name: requests and limits of the workloads deployed to it (win over the Team's). */
  environments: z.record(z.string().min(1), z.strictObject({ resources: Resources.optional() })).default({}),
  /** Per Team name: requests and limits of its agents, and a ResourceQuota (with a LimitRange) for each namespace it owns. */
  teams: z
    .record(
      z.string().min(1),
      z.strictObject({
        resources: Resources.optional(),
        /** ResourceQuota `hard`, e.g. `requests.cpu: "8"`, `limits.memory: 32Gi`, `pods: "50"`. */
        quota: z.record(z.string().regex(/^[a-z0-9./-]+$/i, 'must be a ResourceQuota resource name such as requests.cpu or pods'), Quantity).optional(),
      }),
    )
    .default({}),
});

export type WorkloadSettings = z.infer<typeof WorkloadsSchema>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ClusterName = z.string().regex(DNS_LABEL, 'must be a DNS-1123 label (lowercase letters, digits and "-")').max(63);
const InventoryName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE/NAME');

/**
 * How to reach one cluster: exactly one of a context of the kubeconfig in
 * use, a kubeconfig file (optionally with its context), the in-cluster
 * service account, or a Kubernetes Secret holding a kubeconfig (read by
 * `joch sync` through the cluster it runs in, by `diff` and `apply` through
 * the kubeconfig in use).
 */
const ClusterAccess = z
  .strictObject({
    context: z.string().min(1).optional(),
    /** Relative to joch.yaml's folder for the CLI, to the working folder for `joch sync`. */
    kubeconfig: z.string().min(1).optional(),
    inCluster: z.literal(true).optional(),
    secretRef: z.strictObject({ namespace: ClusterName, name: z.string().min(1), key: z.string().min(1).default('kubeconfig') }).optional(),
    /** The ApplySet parent in this cluster (default: the command's --inventory, joch-system/joch-inventory). */
    inventory: InventoryName.optional(),
  })
  .refine((c) => [c.kubeconfig ?? c.context, c.inCluster, c.secretRef].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one way to reach the cluster: context, kubeconfig (with an optional context), inCluster or secretRef',
  })
  .refine((c) => c.context === undefined || c.inCluster === undefined, { message: 'inCluster takes no context', path: ['context'] })
  .refine((c) => c.context === undefined || c.secretRef === undefined, { message: 'secretRef takes no context', path: ['context'] });

export type ClusterAccess = z.infer<typeof ClusterAccess>;
export type ResourceSettings = z.infer<typeof Resources>;

export const ConfigSchema = z.strictObject({
  apiVersion: z.literal('joch.dev/v1alpha1').optional(),
  kind: z.literal('Project').optional(),
  /** Files and folders to read, relative to the repository root. */
  paths: z.array(z.string().min(1)).min(1).default(['.']),
  /** gitignore-style patterns to leave out, in addition to .jochignore. */
  exclude: z.array(z.string().min(1)).default([]),
  /** Namespace of namespaced resources that do not name one. */
  defaultNamespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits and "-")')
    .max(63)
    .default('default'),
  /** Severity per diagnostic code: off, info, warning or error. */
  severity: z.record(z.string().regex(/^JOCH\d{3}$/, 'must be a diagnostic code such as JOCH401'), SeverityOverride).default({}),
  limits: z
    .strictObject({
      maxFileBytes: z.number().int().positive().default(5 * 1024 * 1024),
      maxAliasCount: z.number().int().min(0).default(100),
      maxDocumentsPerFile: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  /** The policy stage. Both lists only add: the built-in production names and baseline cannot be narrowed. */
  policy: z
    .strictObject({
      /** Environment names treated as production in addition to prod and production. */
      productionEnvironments: z.array(z.string().min(1)).default([]),
      /** Approver roles that promotion gates may name, in addition to Teams and their members. */
      approverRoles: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  workloads: WorkloadsSchema.prefault({}),
  /**
   * Placement: the clusters Environments name (`spec.runtime.cluster`) and how
   * to reach each. Without it everything goes to the one cluster of the
   * kubeconfig in use, as before clusters could be named.
   */
  clusters: z
    .record(z.string(), ClusterAccess)
    .superRefine((clusters, ctx) => {
      // On the key itself, with the rule: zod's own record-key message does not say what is wrong.
      for (const name of Object.keys(clusters)) {
        if (!ClusterName.safeParse(name).success) ctx.addIssue({ code: 'custom', message: 'a cluster name must be a DNS-1123 label (lowercase letters, digits and "-")', path: [name] });
      }
    })
    .optional(),
  /** The cluster that receives what no Environment places; may be left out when one cluster is mapped. */
  defaultCluster: ClusterName.optional(),
})
  .refine((c) => c.defaultCluster === undefined || (c.clusters !== undefined && c.defaultCluster in c.clusters), {
    message: 'must name a cluster of `clusters`',
    path: ['defaultCluster'],
  })
  .refine((c) => c.clusters === undefined || c.defaultCluster !== undefined || Object.keys(c.clusters).length === 1, {
    message: 'name the cluster that receives what no Environment places (defaultCluster) when more than one is mapped',
    path: ['clusters'],
  })
  .refine((c) => c.clusters === undefined || Object.keys(c.clusters).length > 0, { message: 'map at least one cluster, or leave `clusters` out', path: ['clusters'] });

export type Config = z.infer<typeof ConfigSchema>;
