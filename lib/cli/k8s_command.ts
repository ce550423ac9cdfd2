/**
 * `kvbench k8s`: a Kubernetes Indexed Job running N shards of one
 * `benchmark` or `trie` run on as many pods, each writing its run directory
 * to a shared volume, for `kvbench merge`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Scalar, stringify } from "npm:yaml@2.9.1";
import { type Command, err, numberFlag, out, UsageError } from "./common.ts";
import { VERSION } from "./version.ts";
import { type CommandContext, findWorkload } from "./workload.ts";
import { INPUTS_MOUNT, mountInputs } from "./k8s_inputs.ts";

const USAGE = `usage: kvbench k8s [options] -- benchmark|trie ARGUMENTS...

Print a Kubernetes Indexed Job that runs N shards of one run, one per pod
(completionMode: Indexed, parallelism = completions = N): each pod runs the
command with --shard $(JOB_COMPLETION_INDEX)/N (trie: shard=...), the pod's
index expanded by Kubernetes from JOB_COMPLETION_INDEX, one --seed (unless the
arguments give one) and one --start-at so the shards draw one workload and
start together; each writes its run directory to the volume. Then:

  kubectl apply -f job.yaml
  kubectl wait --for=condition=complete --timeout=… job/NAME   (printed: from the duration)
  (copy the run directories off the volume, see the manifest's header)
  kvbench merge runs/NAME/*

Pods without egress: build the image of _tools/docker/Dockerfile (the compiled
binary, non-root) and pass --image REGISTRY/kvbench:${VERSION} --command kvbench.
Local files the run names (workload_path=, tokenizer_model=, --model-configs)
go into a ConfigMap printed before the Job (at most 1 MiB), or are refused.
The pods run non-root under the restricted Pod Security profile, spread over
nodes, with activeDeadlineSeconds from the duration and a TTL.

options:
  --shards N          pods, one shard each (default 2)
  --name NAME         the Job's name (default kvbench)
  --namespace NS      the Job's namespace (default: kubectl's)
  --image IMAGE       container image (default denoland/deno:2.9.6 running
                      jsr:@kvbench/cli@${VERSION}; a kvbench image: --command kvbench)
  --command CMD       the program in the image (default: deno run -A jsr:@kvbench/cli@${VERSION})
  --start-delay S     the shards start S seconds after this command prints the
                      manifest (default 180: time to apply it, schedule the pods
                      and pull the image); a shard that comes later starts at once
  --start-in S        instead, the shards start S seconds after the first pod
                      runs (computed in the pods, on the volume: the manifest
                      can be applied any time; needs sh in the image)
  --cpu N             CPU request and limit per pod (default 2)
  --memory SIZE       memory request and limit per pod (default 4Gi)
  --pvc NAME          a ReadWriteMany PersistentVolumeClaim for the run directories
                      (default kvbench-runs; it must exist)
  --node-selector K=V schedule the pods on matching nodes (repeatable)
  --api-key-secret NAME[:KEY]
                      set OPENAI_API_KEY from this Secret (key: api-key), rather
                      than an --api-key in the manifest
  --hf-token-secret NAME[:KEY]
                      set HF_TOKEN from this Secret (key: token), for gated
                      tokenizers and traces on the Hub
  --ttl S             delete the finished Job after S seconds (default 86400)
  -h, --help          show this help
`;

/** Options of {@linkcode indexedJob}. */
export interface IndexedJobOptions {
  /** Shards (pods). */
  shards: number;
  /** The Job's name. */
  name: string;
  /** Its namespace (default: none: kubectl's). */
  namespace?: string;
  /** Container image. */
  image: string;
  /** The program in the image, as argv. */
  command: string[];
  /** `benchmark …` or `trie …`: the run's arguments. */
  args: string[];
  /** When the shards start (wall clock, ms). */
  startAtMs: number;
  /**
   * Instead of `startAtMs`: the shards start this many seconds after the
   * first pod runs, computed in the pods (a start time written once on the
   * volume); the container runs `sh -c`.
   */
  startInS?: number;
  /** The seed every shard draws with, unless the arguments give one. */
  seed: number;
  /** CPU request and limit. */
  cpu: string;
  /** Memory request and limit. */
  memory: string;
  /** The claim the run directories go to. */
  pvc: string;
  /** Node selector labels. */
  nodeSelector?: Record<string, string>;
  /** The Secret (and its key) whose value is `OPENAI_API_KEY`. */
  apiKeySecret?: { name: string; key: string };
  /** The Secret (and its key) whose value is `HF_TOKEN`. */
  hfTokenSecret?: { name: string; key: string };
  /** `ttlSecondsAfterFinished` (default: none). */
  ttlSeconds?: number;
  /** `activeDeadlineSeconds` (default: none). */
  deadlineSeconds?: number;
  /** A ConfigMap to mount read-only at `/inputs`, with its items. */
  inputs?: { configMap: string; items: { key: string; path: string }[] };
}

/** Pods run as this non-root user (the `deno` user of denoland/deno, and of _tools/docker/Dockerfile). */
export const POD_USER = 1993;

/**
 * The Job manifest (a plain object, as `kubectl apply` takes it as YAML or
 * JSON).
 *
 * @example Two shards of a benchmark
 * ```ts
 * import { indexedJob } from "./k8s_command.ts";
 * import assert from "node:assert/strict";
 *
 * const job = indexedJob({
 *   shards: 2, name: "kvb", image: "denoland/deno:2.9.6",
 *   command: ["deno", "run", "-A", "jsr:@kvbench/cli"],
 *   args: ["benchmark", "--endpoint", "http://vllm:8000", "--duration", "600"],
 *   startAtMs: Date.UTC(2026, 11, 2, 18), seed: 7, cpu: "2", memory: "4Gi", pvc: "kvbench-runs",
 * });
 * const spec = job.spec as Record<string, unknown>;
 * assert.equal(spec.completionMode, "Indexed");
 * assert.equal(spec.completions, 2);
 * assert.equal(spec.parallelism, 2);
 * const pod = (spec.template as { spec: { containers: { args: string[] }[] } }).spec;
 * const args = pod.containers[0].args;
 * assert.deepEqual(args.slice(args.indexOf("--shard"), -2), ["--shard", "$(JOB_COMPLETION_INDEX)/2"]);
 * ```
 */
export function indexedJob(
  options: IndexedJobOptions,
): Record<string, unknown> {
  const container = containerCommand(options);
  const labels = {
    "app.kubernetes.io/name": "kvbench",
    "app.kubernetes.io/instance": options.name,
  };
  const resources = { cpu: options.cpu, memory: options.memory };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: options.name,
      ...(options.namespace === undefined
        ? {}
        : { namespace: options.namespace }),
      labels,
    },
    spec: {
      completionMode: "Indexed",
      completions: options.shards,
      parallelism: options.shards,
      // A shard retried later would run its part late: fail instead.
      backoffLimit: 0,
      ...(options.deadlineSeconds === undefined
        ? {}
        : { activeDeadlineSeconds: options.deadlineSeconds }),
      ...(options.ttlSeconds === undefined
        ? {}
        : { ttlSecondsAfterFinished: options.ttlSeconds }),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // The restricted Pod Security profile: non-root, no escalation,
          // no capabilities, the runtime's seccomp profile.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: POD_USER,
            runAsGroup: POD_USER,
            fsGroup: POD_USER,
            seccompProfile: { type: "RuntimeDefault" },
          },
          // Shards on different nodes where there are enough (a client
          // sharing a node with another measures less than it could).
          topologySpreadConstraints: [{
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: labels },
          }],
          ...(options.nodeSelector === undefined
            ? {}
            : { nodeSelector: options.nodeSelector }),
          containers: [{
            name: "kvbench",
            image: options.image,
            ...container,
            env: containerEnv(options),
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
            },
            resources: { requests: resources, limits: resources },
            volumeMounts: [
              { name: "runs", mountPath: "/runs" },
              ...(options.inputs === undefined ? [] : [{
                name: "inputs",
                mountPath: INPUTS_MOUNT,
                readOnly: true,
              }]),
            ],
          }],
          volumes: [
            {
              name: "runs",
              persistentVolumeClaim: { claimName: options.pvc },
            },
            ...(options.inputs === undefined ? [] : [{
              name: "inputs",
              configMap: {
                name: options.inputs.configMap,
                items: options.inputs.items,
              },
            }]),
          ],
        },
      },
    },
  };
}

/**
 * The container's command and args: the run's, with the shard, the seed
 * every shard shares and the start; behind the start script when the start
 * is relative to the first pod.
 */
function containerCommand(
  options: IndexedJobOptions,
): { command: string[]; args: string[] } {
  const [command, ...commandArgs] = options.command;
  const [sub, ...rest] = options.args;
  const startAt = new Date(options.startAtMs).toISOString().replace(
    /\.000Z$/,
    "Z",
  );
  // Every shard draws the same workload: one seed for all.
  const seeded = rest.some((a) => /^(--seed|(--)?seed=)/.test(a));
  const seed = seeded
    ? []
    : sub === "trie"
    ? [`seed=${options.seed}`]
    : ["--seed", String(options.seed)];
  // Kubernetes expands $(JOB_COMPLETION_INDEX) in args from the container's
  // environment (set below from the pod's completion-index annotation).
  const shard = `$(JOB_COMPLETION_INDEX)/${options.shards}`;
  const startIn = options.startInS;
  const shardArgs = [
    ...seed,
    ...(sub === "trie" ? [`shard=${shard}`] : ["--shard", shard]),
    ...(startIn !== undefined
      ? []
      : sub === "trie"
      ? [`start_at=${startAt}`]
      : ["--start-at", startAt]),
  ];
  const runArgs = [sub, ...rest, ...shardArgs];
  const container = startIn === undefined
    ? { command: [command], args: [...commandArgs, ...runArgs] }
    : {
      command: ["sh", "-c", startScript(options.name, startIn, sub), "sh"],
      args: [command, ...commandArgs, ...runArgs],
    };
  return container;
}

/** The container's environment. */
function containerEnv(options: IndexedJobOptions): Record<string, unknown>[] {
  const startIn = options.startInS;
  return [
    // Set by the Job controller since Kubernetes 1.22; spelled out
    // so the args expand it on any version.
    {
      name: "JOB_COMPLETION_INDEX",
      valueFrom: {
        fieldRef: {
          fieldPath:
            "metadata.annotations['batch.kubernetes.io/job-completion-index']",
        },
      },
    },
    { name: "KVBENCH_RUNS_DIR", value: `/runs/${options.name}` },
    ...(startIn === undefined ? [] : [{
      // One start per Job: a Job of the same name run again
      // gets its own.
      name: "JOB_UID",
      valueFrom: {
        fieldRef: {
          fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']",
        },
      },
    }]),
    ...(options.apiKeySecret === undefined ? [] : [{
      name: "OPENAI_API_KEY",
      valueFrom: { secretKeyRef: options.apiKeySecret },
    }]),
    ...(options.hfTokenSecret === undefined ? [] : [{
      name: "HF_TOKEN",
      valueFrom: { secretKeyRef: options.hfTokenSecret },
    }]),
  ];
}

/**
 * The pods' start when it is relative to the first pod: the first to run
 * writes `now + S` (Unix seconds) once on the volume (`mkdir` is the lock);
 * every pod waits for it and passes it as the run's start. No `$$` and no
 * `$(NAME)` (Kubernetes would expand them).
 */
function startScript(name: string, startInS: number, sub: string): string {
  const d = `/runs/${name}/.start-\${JOB_UID:-job}`;
  const flag = sub === "trie" ? `start_at=` : `--start-at `;
  return [
    `d="${d}"`,
    `mkdir -p "/runs/${name}"`,
    `if mkdir "$d" 2>/dev/null; then echo "$(expr "$(date +%s)" + ${
      Math.ceil(startInS)
    })" > "$d/at.tmp" && mv "$d/at.tmp" "$d/at"; fi`,
    `while [ ! -s "$d/at" ]; do sleep 1; done`,
    `exec "$@" ${flag}"$(cat "$d/at")"`,
  ].join("\n");
}

/** Options of {@linkcode renderJob}. */
export interface RenderJobOptions {
  /** The Job's name. */
  name: string;
  /** The claim the run directories go to. */
  pvc: string;
  /** The Job's namespace. */
  namespace?: string;
  /** `kubectl wait --timeout` (default `2h`). */
  waitTimeout?: string;
  /** A ConfigMap printed before the Job (the run's local files). */
  configMap?: Record<string, unknown>;
}

/**
 * The manifest as YAML, with the commands to run it in its header; times in
 * the arguments are quoted (a YAML 1.1 reader would take them for
 * timestamps).
 *
 * @example Usage
 * ```ts
 * import { indexedJob, renderJob } from "./k8s_command.ts";
 * import assert from "node:assert/strict";
 *
 * const job = indexedJob({
 *   shards: 2, name: "kvb", image: "kvbench:0.1.0", command: ["kvbench"],
 *   args: ["benchmark", "--endpoint", "http://vllm:8000", "--duration", "600"],
 *   startAtMs: Date.UTC(2026, 11, 2, 18), seed: 7, cpu: "2", memory: "4Gi", pvc: "runs",
 * });
 * const yaml = renderJob(job, { name: "kvb", pvc: "runs", waitTimeout: "1500s" });
 * assert.ok(yaml.includes("kubectl wait --for=condition=complete --timeout=1500s job/kvb"));
 * assert.ok(yaml.includes('  - "2026-12-02T18:00:00Z"\n'));
 * ```
 */
export function renderJob(
  job: Record<string, unknown>,
  options: RenderJobOptions,
): string {
  const ns = options.namespace === undefined ? "" : ` -n ${options.namespace}`;
  const { name, pvc } = options;
  const overrides = JSON.stringify({
    spec: {
      containers: [{
        name: "collect",
        image: "busybox",
        command: ["sleep", "3600"],
        volumeMounts: [{ name: "runs", mountPath: "/runs" }],
      }],
      volumes: [{ name: "runs", persistentVolumeClaim: { claimName: pvc } }],
    },
  });
  return [
    `# kvbench ${VERSION}: ${
      (job.spec as { completions: number }).completions
    } shards of one run as a Kubernetes Indexed Job.`,
    `#   kubectl${ns} apply -f ${name}.yaml`,
    `#   kubectl${ns} wait --for=condition=complete --timeout=${
      options.waitTimeout ?? "2h"
    } job/${name}`,
    `#   kubectl${ns} logs -l app.kubernetes.io/instance=${name} --prefix   # each shard's report`,
    `# Collect the run directories from the volume and merge them:`,
    `#   kubectl${ns} run ${name}-collect --image=busybox --restart=Never --overrides='${overrides}'`,
    `#   kubectl${ns} cp ${name}-collect:/runs/${name} runs/${name} && kubectl${ns} delete pod ${name}-collect`,
    `#   kvbench merge runs/${name}/*`,
    `# The claim "${pvc}" must exist and be ReadWriteMany when the pods land on several nodes.`,
    ...(options.configMap === undefined ? [] : [
      stringify(options.configMap, { aliasDuplicateObjects: false }) + "---",
    ]),
    stringify(quoteTimes(job), { aliasDuplicateObjects: false }),
  ].join("\n");
}

/** A copy with every string that looks like a time (`2026-…T…`, `start_at=…`) double-quoted. */
function quoteTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(quoteTimes);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, quoteTimes(v)]),
    );
  }
  if (typeof value === "string" && /^(\w+=)?\d{4}-\d\d-\d\dT/.test(value)) {
    const scalar = new Scalar(value);
    scalar.type = "QUOTE_DOUBLE";
    return scalar;
  }
  return value;
}

/**
 * The run's duration in seconds, from its arguments (`--duration S` of
 * benchmark, `duration=S` of trie, 300 when trie gives none; `s`, `m` and
 * `h` suffixes read); undefined when the run has none.
 */
function runSeconds(run: string[]): number | undefined {
  const [sub, ...args] = run;
  let text: string | undefined;
  for (const [i, a] of args.entries()) {
    const m = /^(?:--)?duration=(.*)$/.exec(a);
    if (m) text = m[1];
    else if (a === "--duration") text = args[i + 1];
  }
  if (text === undefined) return sub === "trie" ? 300 : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" ?? "s"];
}

/** Seconds a Job may run past its start delay and duration: image pulls, tokenizer downloads, the final report. */
const DEADLINE_MARGIN_S = 600;

function secretRef(
  value: string | undefined,
  defaultKey: string,
): { name: string; key: string } | undefined {
  if (value === undefined) return undefined;
  return {
    name: value.replace(/:.*/, ""),
    key: value.includes(":") ? value.replace(/^[^:]*:/, "") : defaultKey,
  };
}

/** `kvbench k8s`'s own flags (before `--`). */
function parseOwnFlags(own: string[]) {
  try {
    return parseArgs({
      args: own,
      options: {
        shards: { type: "string" },
        name: { type: "string" },
        namespace: { type: "string" },
        image: { type: "string" },
        command: { type: "string" },
        "start-delay": { type: "string" },
        "start-in": { type: "string" },
        cpu: { type: "string" },
        memory: { type: "string" },
        pvc: { type: "string" },
        "node-selector": { type: "string", multiple: true },
        "api-key-secret": { type: "string" },
        "hf-token-secret": { type: "string" },
        ttl: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
}

/** `--node-selector K=V`, repeated, as labels. */
function parseNodeSelector(pairs: string[]): Record<string, string> {
  const nodeSelector: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(
        `--node-selector "${pair}": expected KEY=VALUE`,
        USAGE,
      );
    }
    nodeSelector[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return nodeSelector;
}

/**
 * Refuse what every pod would refuse: shard 0's arguments (from `offset` in
 * the container's args), parsed as the pod parses them.
 */
function checkPods(
  job: Record<string, unknown>,
  offset: number,
  context: CommandContext,
): void {
  const pod = (job.spec as {
    template: { spec: { containers: { args: string[] }[] } };
  }).template.spec.containers[0].args;
  const [sub, ...podArgs] = pod.slice(offset).map((a) =>
    a.replace("$(JOB_COMPLETION_INDEX)", "0")
  );
  try {
    findWorkload(context.workloads, sub)!.checkArgs(podArgs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `the pods would refuse the run: kvbench ${sub}: ${error.message}`,
      USAGE,
    );
  }
}

/** The run's output paths that are not on the volume (`/runs/…`). */
function lostOutputs(run: string[]): string[] {
  const lost: string[] = [];
  for (const [i, arg] of run.entries()) {
    const key =
      /^(?:--)?(output|records|metrics-out|output_json|metrics_out)=(.*)$/
        .exec(arg);
    const flag = /^--(output|records|metrics-out)$/.test(arg)
      ? [arg, run[i + 1]]
      : undefined;
    const [name, value] = key ? [key[1], key[2]] : flag ?? [];
    if (
      name !== undefined && value !== undefined && !value.startsWith("/runs/")
    ) {
      lost.push(`${name.replace(/^--/, "")} ${value}`);
    }
  }
  return lost;
}

/** `kvbench k8s`. */
export const k8sCommand: Command = {
  name: "k8s",
  summary: "print a Kubernetes Indexed Job running shards of one run",
  async run(
    args: string[],
    _signal: AbortSignal,
    context: CommandContext,
  ): Promise<number> {
    const dash = args.indexOf("--");
    const own = dash < 0 ? args : args.slice(0, dash);
    const run = dash < 0 ? [] : args.slice(dash + 1);
    const values = parseOwnFlags(own);
    if (values.help) {
      out(USAGE);
      return 0;
    }
    if (findWorkload(context.workloads, run[0]) === undefined) {
      throw new UsageError(
        "after --, give the run: benchmark ARGUMENTS or trie ARGUMENTS",
        USAGE,
      );
    }
    const owned = run.find((a) =>
      /^(--)?(shard|shards|start-at|start_at|output-dir|output_dir|workers)(=|$)/
        .test(a)
    );
    if (owned !== undefined) {
      throw new UsageError(
        `${owned}: the Job sets the shard, the start and the output directory itself`,
        USAGE,
      );
    }
    const shards = numberFlag(values.shards, "--shards", {
      check: (n) => Number.isInteger(n) && n >= 1,
      usage: USAGE,
    }) ?? 2;
    const delay = numberFlag(values["start-delay"], "--start-delay", {
      check: (n) => n >= 0,
      usage: USAGE,
    }) ?? 180;
    const name = values.name ?? "kvbench";
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
      throw new UsageError(
        `--name "${name}": a Job name is lower-case letters, digits and "-" (at most 63)`,
        USAGE,
      );
    }
    const nodeSelector = parseNodeSelector(values["node-selector"] ?? []);
    const pvc = values.pvc ?? "kvbench-runs";
    const secret = values["api-key-secret"];
    if (run.some((a) => /^(--api-key|(--)?api_key=)/.test(a))) {
      err(
        "[WARN] the API key is written into the manifest: prefer --api-key-secret NAME\n",
      );
    }
    const command =
      (values.command ?? `deno run -A jsr:@kvbench/cli@${VERSION}`)
        .split(/\s+/).filter((w) => w !== "");
    const ttl = numberFlag(values.ttl, "--ttl", {
      check: (n) => Number.isInteger(n) && n >= 0,
      usage: USAGE,
    }) ?? 86_400;
    const duration = runSeconds(run);
    const startIn = numberFlag(values["start-in"], "--start-in", {
      check: (n) => n >= 0,
      usage: USAGE,
    });
    if (startIn !== undefined && values["start-delay"] !== undefined) {
      throw new UsageError(
        "--start-in and --start-delay exclude each other",
        USAGE,
      );
    }
    const deadline = duration === undefined
      ? undefined
      : Math.ceil((startIn ?? delay) + duration + DEADLINE_MARGIN_S);
    const labels = {
      "app.kubernetes.io/name": "kvbench",
      "app.kubernetes.io/instance": name,
    };
    const inputs = await mountInputs(run, {
      name: `${name}-inputs`,
      namespace: values.namespace,
      labels,
    });
    const startAtMs = Math.ceil((Date.now() + delay * 1000) / 1000) * 1000;
    const job = indexedJob({
      shards,
      name,
      namespace: values.namespace,
      image: values.image ?? "denoland/deno:2.9.6",
      command,
      args: inputs.args,
      // Whole seconds: the start reads well and parses anywhere.
      startAtMs,
      startInS: startIn,
      seed: crypto.getRandomValues(new Uint32Array(1))[0],
      cpu: values.cpu ?? "2",
      memory: values.memory ?? "4Gi",
      pvc,
      nodeSelector: Object.keys(nodeSelector).length ? nodeSelector : undefined,
      apiKeySecret: secretRef(secret, "api-key"),
      hfTokenSecret: secretRef(values["hf-token-secret"], "token"),
      ttlSeconds: ttl,
      deadlineSeconds: deadline,
      inputs: inputs.configMap === undefined
        ? undefined
        : { configMap: `${name}-inputs`, items: inputs.items },
    });
    checkPods(
      job,
      startIn === undefined ? command.length - 1 : command.length,
      context,
    );
    if (deadline === undefined) {
      err(
        "[WARN] the run has no duration: the Job gets no activeDeadlineSeconds and the printed wait allows 24h\n",
      );
    }
    const lost = lostOutputs(run);
    if (lost.length > 0) {
      err(
        `[WARN] ${
          lost.join(", ")
        }: written inside the pod, lost when it ends; the run directory on the volume (/runs/${name}) holds the records, metrics and summary\n`,
      );
    }
    err(
      startIn === undefined
        ? `[INFO] the shards start at ${
          new Date(startAtMs).toISOString().replace(/\.000Z$/, "Z")
        } (--start-delay ${delay} s from now): apply the manifest before then; a pod that starts later begins at once, out of step (--start-in S starts them S s after the first pod runs instead)\n`
        : `[INFO] the shards start ${startIn} s after the first pod runs (--start-in): apply the manifest any time; a pod that runs after the start begins at once, out of step\n`,
    );
    out(renderJob(job, {
      name,
      pvc,
      namespace: values.namespace,
      waitTimeout: deadline === undefined ? "24h" : `${deadline + 60}s`,
      configMap: inputs.configMap,
    }));
    return 0;
  },
};
