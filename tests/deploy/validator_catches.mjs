// The validator's own test: each mistake below, made in a copy of deploy/kubernetes, must make
// validate_manifests.mjs fail with a message naming it. Same arguments as validate_manifests.mjs.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const argv = process.argv.slice(2);
const manifests = argv[argv.indexOf("--manifests") + 1];
const validator = path.join(path.dirname(fileURLToPath(import.meta.url)), "validate_manifests.mjs");
const mistakes = [
  ["base/deployment.yaml", "--http-threads=2", "--http-thread=2", "--http-thread is not an option"],
  ["base/deployment.yaml", "--http-threads=2", "--http-threads=many", "refuses the arguments"],
  ["base/deployment.yaml", "path: /v2/health/live", "path: /healthz", "not /v2/health/live"],
  ["base/deployment.yaml", "containerPort: 8001", "containerPort: \"8001\"", "must be integer"],
  ["base/deployment.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "leaves no margin"],
  ["base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "not read-only"],
  ["base/configmap.yaml", "    {}", "    streams: [{name: s, source: {topic: a}, model: m, sink: {topic: b}, errors: {topic: e}}]",
   "ferry does not start with it"],  // a Kafka stream without kafka: {bootstrap_servers}
  ["kafka/deployment.yaml", "value: ferry\n", "value: ferry\n            - {name: KAFKA_BOOTSTRAP_UNUSED, value: x}\n", null],
  ["kafka/deployment.yaml", "- name: KAFKA_BOOTSTRAP", "- name: KAFKA_BOOTSTRAP_TYPO", "ferry does not start with it"],
  ["base/hpa.yaml", "averageUtilization: 70", "averageUtilization: seventy", "must be integer"],
  ["kserve/servingruntime.yaml", "protocolVersions: [v2, grpc-v2]", "protocolVersions: [v2, grpc-v3]", "unknown grpc-v3"],
  ["kserve/servingruntime.yaml", "--grpc-port=9000", "--grpc-ports=9000", "not an option"],
  ["base/kustomization.yaml", "  - pdb.yaml", "  - pdb.yml", "lists pdb.yml"],
];
let failed = 0;
for (const [file, from, to, expected] of mistakes) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "ferry_manifests_"));
  fs.cpSync(manifests, copy, { recursive: true });
  const target = path.join(copy, file);
  const text = fs.readFileSync(target, "utf8");
  if (!text.includes(from)) { console.error(`${file} no longer holds ${JSON.stringify(from)}`); failed++; continue; }
  fs.writeFileSync(target, text.replace(from, to));
  const args = argv.map((a) => (a === manifests ? copy : a));
  const run = spawnSync("node", [validator, ...args], { encoding: "utf8" });
  fs.rmSync(copy, { recursive: true, force: true });
  const ok = expected === null ? run.status === 0 : run.status === 1 && run.stderr.includes(expected);
  console.log(`${ok ? "ok  " : "FAIL"} ${file}: ${JSON.stringify(to).slice(0, 60)}${expected ? ` -> ${expected}` : " (harmless)"}`);
  if (!ok) { failed++; console.log(run.stdout + run.stderr); }
}
process.exit(failed ? 1 : 0);
