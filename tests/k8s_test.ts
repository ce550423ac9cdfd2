/**
 * `kvbench k8s` for a real cluster, end to end through cli.ts: the manifest
 * validated against the ConfigMap, Job and Pod schemas, its fields (deadline,
 * TTL, restricted securityContext, spread, secrets, inputs from a
 * ConfigMap), and the pod's command run here against the simulator with the
 * ConfigMap's files where the pod would find them.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "npm:yaml@2.9.1";
import { Job } from "npm:kubernetes-models@5.1.0/batch/v1/Job";
import { Pod } from "npm:kubernetes-models@5.1.0/v1/Pod";
import { ConfigMap } from "npm:kubernetes-models@5.1.0/v1/ConfigMap";
import { runCli, RUNS_DIR } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

Deno.test("k8s: a Job for a real cluster: inputs in a ConfigMap, deadline from the duration, restricted pods; the pod's command runs", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const printed = await runCli([
    "k8s",
    ...["--shards", "1", "--name", "kvb-real", "--start-delay", "60"],
    ...["--image", "registry.local/kvbench:0.1.0", "--command", "kvbench"],
    ...["--hf-token-secret", "hf:hf-token", "--ttl", "3600"],
    "--",
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${sim.url}`,
    "tokenizer_model=server",
    "concurrency=1",
    "max_traces=2",
    "duration=120",
    "metrics=False",
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(
    printed.stderr,
    /^\[INFO\] the shards start at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(--start-delay 60 s from now\): apply the manifest before then/,
  );
  const docs = parseAllDocuments(printed.stdout).map((d) => d.toJS());
  assert.equal(docs.length, 2);
  const [configMap, job] = docs;
  new ConfigMap(configMap).validate();
  new Job(job).validate();
  const podSpec = job.spec.template.spec;
  new Pod({
    metadata: { name: "kvb-real-0" },
    spec: podSpec,
  }).validate();
  // 60 s of start delay + 120 s of run + 600 s of margin; the wait a minute more.
  assert.equal(job.spec.activeDeadlineSeconds, 780);
  assert.equal(job.spec.ttlSecondsAfterFinished, 3600);
  assert.ok(
    printed.stdout.includes(
      "kubectl wait --for=condition=complete --timeout=840s job/kvb-real",
    ),
  );
  assert.deepEqual(podSpec.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1993,
    runAsGroup: 1993,
    fsGroup: 1993,
    seccompProfile: { type: "RuntimeDefault" },
  });
  const container = podSpec.containers[0];
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  });
  assert.deepEqual(podSpec.topologySpreadConstraints, [{
    maxSkew: 1,
    topologyKey: "kubernetes.io/hostname",
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: {
      matchLabels: {
        "app.kubernetes.io/name": "kvbench",
        "app.kubernetes.io/instance": "kvb-real",
      },
    },
  }]);
  assert.deepEqual(container.command, ["kvbench"]);
  assert.equal(container.image, "registry.local/kvbench:0.1.0");
  assert.deepEqual(
    container.env.find((e: { name: string }) => e.name === "HF_TOKEN"),
    {
      name: "HF_TOKEN",
      valueFrom: { secretKeyRef: { name: "hf", key: "hf-token" } },
    },
  );
  // The trace travels in the ConfigMap; the pods read it at /inputs.
  assert.equal(configMap.metadata.name, "kvb-real-inputs");
  assert.equal(
    configMap.data["workload_path.traces_small.jsonl"],
    await Deno.readTextFile(TRACES),
  );
  assert.deepEqual(podSpec.volumes[1], {
    name: "inputs",
    configMap: {
      name: "kvb-real-inputs",
      items: [{
        key: "workload_path.traces_small.jsonl",
        path: "workload_path/traces_small.jsonl",
      }],
    },
  });
  assert.ok(
    container.args.includes(
      "workload_path=/inputs/workload_path/traces_small.jsonl",
    ),
  );
  // The start is quoted: a YAML 1.1 reader would take it for a timestamp.
  assert.match(printed.stdout, /\n {12}- "start_at=\d{4}-\d\d-\d\dT[\d:]+Z"\n/);

  // The pod's command, run here: the ConfigMap's files where the pod finds them.
  const inputs = await Deno.makeTempDir();
  for (const { key, path } of podSpec.volumes[1].configMap.items) {
    await Deno.mkdir(`${inputs}/${path.replace(/\/[^/]*$/, "")}`, {
      recursive: true,
    });
    await Deno.writeTextFile(`${inputs}/${path}`, configMap.data[key]);
  }
  const podArgs: string[] = container.args.map((a: string) =>
    a.replace("/inputs/", `${inputs}/`).replace("$(JOB_COMPLETION_INDEX)", "0")
      .replace(/^start_at=.*/, `start_at=${new Date().toISOString()}`)
  );
  const pod = await runCli(podArgs, {
    env: { JOB_COMPLETION_INDEX: "0", KVBENCH_RUNS_DIR: `${RUNS_DIR}/k8s` },
  });
  await Deno.remove(inputs, { recursive: true });
  assert.equal(pod.code, 0, pod.stderr);
  assert.match(pod.stdout, / completed_requests=\d+ /);
  assert.match(pod.stdout, / failed_requests=0 /);
});

Deno.test("k8s: inputs too large for a ConfigMap are refused in one line; no duration says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const line = (await Deno.readTextFile(TRACES)).split("\n")[0] + "\n";
    await Deno.writeTextFile(
      `${dir}/big.jsonl`,
      line.repeat(Math.ceil(1_100_000 / line.length)),
    );
    const big = await runCli([
      "k8s",
      "--",
      "trie",
      `workload_path=${dir}/big.jsonl`,
      "endpoint=http://vllm:8000/v1",
      "model=m",
      "concurrency=8",
    ]);
    assert.equal(big.code, 1);
    assert.equal(big.stdout, "");
    assert.ok(
      big.stderr.endsWith(
        `kvbench k8s: error: Cannot carry workload_path "${dir}/big.jsonl" in a ConfigMap: the inputs pass 1000000 bytes (Kubernetes refuses objects over 1 MiB); put it in the image or on the volume and give the pods' path\n`,
      ),
      big.stderr,
    );
    const open = await runCli([
      "k8s",
      "--",
      "benchmark",
      "--endpoint",
      "http://vllm:8000",
      "--records",
      "mine.jsonl",
    ]);
    assert.equal(open.code, 0, open.stderr);
    assert.ok(
      open.stderr.includes(
        "[WARN] records mine.jsonl: written inside the pod, lost when it ends; the run directory on the volume (/runs/kvbench) holds the records, metrics and summary\n",
      ),
      open.stderr,
    );
    assert.ok(
      open.stderr.startsWith(
        "[WARN] the run has no duration: the Job gets no activeDeadlineSeconds and the printed wait allows 24h\n",
      ),
      open.stderr,
    );
    assert.ok(open.stdout.includes("--timeout=24h job/kvbench"));
    const job = parseAllDocuments(open.stdout)[0].toJS();
    assert.equal(job.spec.activeDeadlineSeconds, undefined);
    new Job(job).validate();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("k8s --start-in: the pods agree on one start, written once on the volume, whenever the Job is applied", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const printed = await runCli([
    "k8s",
    ...["--shards", "2", "--name", "kvb-rel", "--start-in", "2"],
    ...["--image", "registry.local/kvbench:0.1.0", "--command", "kvbench"],
    "--",
    "trie",
    "workload_path=agentic",
    `endpoint=${sim.url}`,
    "tokenizer_model=server",
    "concurrency=2",
    "max_traces=2",
    "duration=60",
    "metrics=False",
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.ok(
    printed.stderr.startsWith(
      "[INFO] the shards start 2 s after the first pod runs (--start-in): apply the manifest any time",
    ),
    printed.stderr,
  );
  const job = parseAllDocuments(printed.stdout)[0].toJS();
  new Job(job).validate();
  const podSpec = job.spec.template.spec;
  new Pod({ metadata: { name: "kvb-rel-0" }, spec: podSpec }).validate();
  // 2 s of start + 60 s of run + 600 s of margin.
  assert.equal(job.spec.activeDeadlineSeconds, 662);
  const container = podSpec.containers[0];
  assert.deepEqual(container.command.slice(0, 2), ["sh", "-c"]);
  assert.equal(container.args[0], "kvbench");
  assert.ok(!container.args.some((a: string) => a.startsWith("start_at=")));
  assert.deepEqual(
    container.env.find((e: { name: string }) => e.name === "JOB_UID"),
    {
      name: "JOB_UID",
      valueFrom: {
        fieldRef: {
          fieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']",
        },
      },
    },
  );
  // The agentic alias needs the Hub: give the pods the small trace instead,
  // then run both as the kubelet would (sh -c, the index expanded), the
  // volume a folder here.
  const volume = await Deno.makeTempDir();
  try {
    const [sh, dashC, script, argv0] = container.command;
    const pods = [0, 1].map((k) => {
      const args: string[] = container.args.map((a: string) =>
        a.replace("$(JOB_COMPLETION_INDEX)", String(k))
          .replace("workload_path=agentic", `workload_path=${TRACES}`)
      );
      return new Deno.Command(sh, {
        args: [
          dashC,
          script.replaceAll("/runs/", `${volume}/`),
          argv0,
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          new URL("../cli.ts", import.meta.url).pathname,
          ...args.slice(1),
        ],
        env: {
          NO_COLOR: "1",
          JOB_UID: "uid-1",
          JOB_COMPLETION_INDEX: String(k),
          KVBENCH_RUNS_DIR: `${volume}/kvb-rel`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
    });
    const outputs = await Promise.all(pods);
    const starts = outputs.map((o, k) => {
      const text = new TextDecoder().decode(o.stdout);
      assert.equal(
        o.code,
        0,
        `pod ${k}: ${text}${new TextDecoder().decode(o.stderr)}`,
      );
      // "waiting for start_at", or on a slow machine "start_at has passed".
      return / start_at=(\S+)/.exec(
        text + new TextDecoder().decode(o.stderr),
      )?.[1];
    });
    assert.ok(starts[0] !== undefined, "pod 0 waited for no start");
    assert.equal(starts[1], starts[0], "one start for both pods");
    const written = Number(
      await Deno.readTextFile(`${volume}/kvb-rel/.start-uid-1/at`),
    );
    assert.equal(new Date(written * 1000).toISOString(), starts[0]);
  } finally {
    await Deno.remove(volume, { recursive: true });
  }
});
