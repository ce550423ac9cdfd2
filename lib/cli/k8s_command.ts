/**
 * `kvbench k8s`: a Kubernetes Indexed Job running N shards of one
 * `benchmark` or `trie` run on as many pods, each writing its run directory
 * to a shared volume, for `kvbench merge`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify } from "npm:yaml@2.9.1";
import { type Command, err, numberFlag, out, UsageError } from "./common.ts";
import { VERSION } from "./version.ts";
import { type CommandContext, findWorkload } from "./workload.ts";

const USAGE = `usage: kvbench k8s [options] -- benchmark|trie ARGUMENTS...

Print a Kubernetes Indexed Job that runs N shards of one run, one per pod
(completionMode: Indexed, parallelism = completions = N): each pod runs the
command with --shard $(JOB_COMPLETION_INDEX)/N (trie: shard=...), the pod's
index expanded by Kubernetes from JOB_COMPLETION_INDEX, one --seed (unless the
arguments give one) and one --start-at so the shards draw one workload and
start together; each writes its run directory to the volume. Then:

  kubectl apply -f job.yaml
  kubectl wait --for=condition=complete --timeout=2h job/NAME
  (copy the run directories off the volume, see the manifest's header)
  kvbench merge runs/NAME/*

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
  --cpu N             CPU request and limit per pod (default 2)
  --memory SIZE       memory request and limit per pod (default 4Gi)
  --pvc NAME          a ReadWriteMany PersistentVolumeClaim for the run directories
                      (default kvbench-runs; it must exist)
  --node-selector K=V schedule the pods on matching nodes (repeatable)
  --api-key-secret NAME[:KEY]
                      set OPENAI_API_KEY from this Secret (key: api-key), rather
                      than an --api-key in the manifest
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
}

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
  const shardArgs = sub === "trie"
    ? [...seed, `shard=${shard}`, `start_at=${startAt}`]
    : [...seed, "--shard", shard, "--start-at", startAt];
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
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          ...(options.nodeSelector === undefined
            ? {}
            : { nodeSelector: options.nodeSelector }),
          containers: [{
            name: "kvbench",
            image: options.image,
            command: [command],
            args: [...commandArgs, sub, ...rest, ...shardArgs],
            env: [
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
              ...(options.apiKeySecret === undefined ? [] : [{
                name: "OPENAI_API_KEY",
                valueFrom: { secretKeyRef: options.apiKeySecret },
              }]),
            ],
            resources: { requests: resources, limits: resources },
            volumeMounts: [{ name: "runs", mountPath: "/runs" }],
          }],
          volumes: [{
            name: "runs",
            persistentVolumeClaim: { claimName: options.pvc },
          }],
        },
      },
    },
  };
}

/** The manifest as YAML, with the commands to run it in its header. */
export function renderJob(
  job: Record<string, unknown>,
  options: { name: string; pvc: string; namespace?: string },
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
    `#   kubectl${ns} wait --for=condition=complete --timeout=2h job/${name}`,
    `#   kubectl${ns} logs -l app.kubernetes.io/instance=${name} --prefix   # each shard's report`,
    `# Collect the run directories from the volume and merge them:`,
    `#   kubectl${ns} run ${name}-collect --image=busybox --restart=Never --overrides='${overrides}'`,
    `#   kubectl${ns} cp ${name}-collect:/runs/${name} runs/${name} && kubectl${ns} delete pod ${name}-collect`,
    `#   kvbench merge runs/${name}/*`,
    `# The claim "${pvc}" must exist and be ReadWriteMany when the pods land on several nodes.`,
    stringify(job, { aliasDuplicateObjects: false }),
  ].join("\n");
}

/** `kvbench k8s`. */
export const k8sCommand: Command = {
  name: "k8s",
  summary: "print a Kubernetes Indexed Job running shards of one run",
  run(
    args: string[],
    _signal: AbortSignal,
    context: CommandContext,
  ): Promise<number> {
    const dash = args.indexOf("--");
    const own = dash < 0 ? args : args.slice(0, dash);
    const run = dash < 0 ? [] : args.slice(dash + 1);
    let values;
    try {
      values = parseArgs({
        args: own,
        options: {
          shards: { type: "string" },
          name: { type: "string" },
          namespace: { type: "string" },
          image: { type: "string" },
          command: { type: "string" },
          "start-delay": { type: "string" },
          cpu: { type: "string" },
          memory: { type: "string" },
          pvc: { type: "string" },
          "node-selector": { type: "string", multiple: true },
          "api-key-secret": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (error) {
      throw new UsageError((error as Error).message, USAGE);
    }
    if (values.help) {
      out(USAGE);
      return Promise.resolve(0);
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
    const nodeSelector: Record<string, string> = {};
    for (const pair of values["node-selector"] ?? []) {
      const eq = pair.indexOf("=");
      if (eq <= 0) {
        throw new UsageError(
          `--node-selector "${pair}": expected KEY=VALUE`,
          USAGE,
        );
      }
      nodeSelector[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
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
    const job = indexedJob({
      shards,
      name,
      namespace: values.namespace,
      image: values.image ?? "denoland/deno:2.9.6",
      command,
      args: run,
      // Whole seconds: the start reads well and parses anywhere.
      startAtMs: Math.ceil((Date.now() + delay * 1000) / 1000) * 1000,
      seed: crypto.getRandomValues(new Uint32Array(1))[0],
      cpu: values.cpu ?? "2",
      memory: values.memory ?? "4Gi",
      pvc,
      nodeSelector: Object.keys(nodeSelector).length ? nodeSelector : undefined,
      apiKeySecret: secret === undefined ? undefined : {
        name: secret.replace(/:.*/, ""),
        key: secret.includes(":") ? secret.replace(/^[^:]*:/, "") : "api-key",
      },
    });
    // Refuse what every pod would refuse: shard 0's arguments, parsed.
    const pod = (job.spec as {
      template: { spec: { containers: { args: string[] }[] } };
    }).template.spec.containers[0].args;
    const [sub, ...podArgs] = pod.slice(command.length - 1).map((a) =>
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
    out(renderJob(job, { name, pvc, namespace: values.namespace }));
    return Promise.resolve(0);
  },
};
