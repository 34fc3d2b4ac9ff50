// Checks deploy/kubernetes offline, as the ctest deploy_manifests runs it:
//   node validate_manifests.mjs --modules NODE_MODULES --ferry BUILD/ferry --manifests deploy/kubernetes
//
// 1. Every object of every manifest (and of every kustomization as `kubectl kustomize` renders it,
//    where kubectl is installed) validates against the Kubernetes OpenAPI schemas, through the npm
//    package kubernetes-models (and @kubernetes-models/prometheus-operator for the PodMonitor).
//    KServe's ServingRuntime and InferenceService have no such package: their fields are checked
//    here against KServe's API reference, and their containers against core/v1 Container.
// 2. What ties the manifests to ferry: every argument given to a ferry container is an option of
//    `ferry serve --help`, whose values CLI11 accepts (the options are parsed by the binary itself);
//    each ferry.yaml held in a ConfigMap starts a ferry; probes ask /v2/health/{live,ready} on a
//    declared port; terminationGracePeriodSeconds leaves room for preStop and --shutdown-timeout.
// Unknown fields are not caught (the schemas come compiled, without additionalProperties).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
for (const required of ["modules", "ferry", "manifests"]) {
  if (!args[required]) throw new Error(`usage: --modules DIR --ferry BIN --manifests DIR (no --${required})`);
}
const load = (relative) => import(pathToFileURL(path.join(args.modules, relative)).href);
const YAML = await load("yaml/dist/index.js");

const failures = [];
const fail = (where, message) => failures.push(`${where}: ${message}`);
let checked = 0;

// apiVersion -> the module of its models.
async function modelsOf(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return load("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/index.js");
  }
  return load(`kubernetes-models/${apiVersion}/index.js`);
}

async function validateKubernetes(where, object) {
  let models;
  try {
    models = await modelsOf(object.apiVersion);
  } catch {
    return fail(where, `no schema for apiVersion ${object.apiVersion}`);
  }
  const Model = models[object.kind];
  if (!Model) return fail(where, `no kind ${object.kind} in ${object.apiVersion}`);
  try {
    new Model(object).validate();
  } catch (e) {
    fail(where, e.message);
  }
}

const { Container } = await load("kubernetes-models/v1/index.js");
function validateContainer(where, container) {
  try {
    new Container(container).validate();
  } catch (e) {
    fail(where, e.message);
  }
}

// KServe's API reference (serving.kserve.io): the fields ferry's manifests use.
const KSERVE_PROTOCOLS = new Set(["v1", "v2", "grpc-v1", "grpc-v2"]);
const SERVING_RUNTIME_FIELDS = new Set(["annotations", "supportedModelFormats", "protocolVersions", "containers",
  "multiModel", "grpcEndpoint", "grpcDataEndpoint", "disabled", "nodeSelector", "tolerations", "affinity", "volumes",
  "imagePullSecrets", "labels", "builtInAdapter", "replicas", "storageHelper", "hostIPC", "workerSpec"]);
function onlyKeys(where, object, allowed) {
  for (const key of Object.keys(object ?? {})) if (!allowed.has(key)) fail(where, `unknown field ${key}`);
}

function validateServingRuntime(where, object) {
  const spec = object.spec ?? {};
  onlyKeys(`${where} spec`, spec, SERVING_RUNTIME_FIELDS);
  if (!Array.isArray(spec.supportedModelFormats) || spec.supportedModelFormats.length === 0) {
    fail(where, "spec.supportedModelFormats must list formats");
  }
  for (const [i, format] of (spec.supportedModelFormats ?? []).entries()) {
    const at = `${where} supportedModelFormats[${i}]`;
    onlyKeys(at, format, new Set(["name", "version", "autoSelect", "priority"]));
    if (typeof format.name !== "string") fail(at, "name must be a string");
    if (format.version !== undefined && typeof format.version !== "string") fail(at, "version must be a string");
    if (format.autoSelect !== undefined && typeof format.autoSelect !== "boolean") fail(at, "autoSelect must be a boolean");
    if (format.priority !== undefined && !(Number.isInteger(format.priority) && format.priority >= 1)) {
      fail(at, "priority must be an integer of at least 1");
    }
  }
  for (const protocol of spec.protocolVersions ?? []) {
    if (!KSERVE_PROTOCOLS.has(protocol)) fail(where, `protocolVersions: unknown ${protocol}`);
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) fail(where, "spec.containers is empty");
  for (const [i, container] of (spec.containers ?? []).entries()) {
    validateContainer(`${where} containers[${i}]`, container);
  }
  if (!(spec.containers ?? []).some((c) => c.name === "kserve-container")) {
    fail(where, "KServe runs the container named kserve-container");
  }
}

function validateInferenceService(where, object) {
  const model = object.spec?.predictor?.model;
  if (!model) return fail(where, "spec.predictor.model is missing");
  if (typeof model.modelFormat?.name !== "string") fail(where, "predictor.model.modelFormat.name is missing");
  if (model.protocolVersion !== undefined && !KSERVE_PROTOCOLS.has(model.protocolVersion)) {
    fail(where, `unknown protocolVersion ${model.protocolVersion}`);
  }
  const { modelFormat, runtime, protocolVersion, storageUri, storage, ...container } = model;
  validateContainer(`${where} predictor.model`, { name: "kserve-container", ...container });
}

// ferry's own options, from the binary's help.
const help = spawnSync(args.ferry, ["serve", "--help"], { encoding: "utf8" });
if (help.status !== 0) throw new Error(`${args.ferry} serve --help failed: ${help.stderr}`);
const ferryOptions = new Set([...help.stdout.matchAll(/^\s+(?:-\w,)?(--[a-z0-9-]+)/gm)].map((m) => m[1]));
if (!ferryOptions.has("--model-repository")) throw new Error("ferry serve --help lists no --model-repository");

function isFerry(container) {
  return /(^|\/)ferry(:|@|$)/.test(container.image ?? "");
}

const OPTION_OF_VALUE = /^(--[a-z0-9-]+)(?:=(.*))?$/s;
function optionsOf(container) {
  const options = new Map();
  for (const arg of container.args ?? []) {
    const m = OPTION_OF_VALUE.exec(arg);
    if (m) options.set(m[1], m[2] ?? "");
  }
  return options;
}

// Starts `ferry serve` with the container's arguments, paths made local: CLI11 must accept every
// option and value (a file or folder option must name an existing one, so each gets a stand-in).
function checkFerryArguments(where, container) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ferry_manifest_"));
  const local = [];
  for (const arg of container.args ?? []) {
    const m = OPTION_OF_VALUE.exec(arg);
    if (!m) return fail(where, `argument ${JSON.stringify(arg)} is not --option=value`);
    if (!ferryOptions.has(m[1])) return fail(where, `${m[1]} is not an option of \`ferry serve\``);
    let value = m[2];
    if (value !== undefined && value.startsWith("/")) {
      const stand_in = path.join(work, value);
      if (["--model-repository", "--backend-directory"].includes(m[1])) fs.mkdirSync(stand_in, { recursive: true });
      else { fs.mkdirSync(path.dirname(stand_in), { recursive: true }); fs.writeFileSync(stand_in, "{}\n"); }
      value = stand_in;
    }
    if (m[1] === "--config" || m[1].startsWith("--tls") || m[1] === "--auth-token-file") continue;  // checked apart
    local.push(value === undefined ? m[1] : `${m[1]}=${value}`);
  }
  // CLI11 parses everything before ferry opens a port; --help after the options stops there.
  const run = spawnSync(args.ferry, ["serve", ...local, "--help"], { encoding: "utf8", timeout: 20000 });
  if (run.status !== 0) fail(where, `ferry serve refuses the arguments: ${run.stderr.trim()}`);
  fs.rmSync(work, { recursive: true, force: true });
}

// A ferry.yaml of a ConfigMap: ferry must start with it (it reads ferry.yaml before serving and
// exits 2 on an error). Environment variables come from the containers that mount it, `file:`
// secrets from stand-in files.
const startedWith = new Map();  // the same file and environment start once (base and its overlays)
function checkFerryYaml(where, text, env) {
  const key = JSON.stringify([text, env]);
  if (startedWith.has(key)) {
    if (startedWith.get(key)) fail(where, startedWith.get(key));
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ferry_yaml_"));
  const secret = path.join(work, "secret");
  fs.writeFileSync(secret, "stand-in\n");
  const config = path.join(work, "ferry.yaml");
  fs.writeFileSync(config, text.replace(/file:\/\S+/g, `file:${secret}`));
  fs.mkdirSync(path.join(work, "models"));
  const run = spawnSync(args.ferry, ["serve", "--model-repository", path.join(work, "models"), "--config", config,
    "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", "--log-level", "warn"],
  { encoding: "utf8", timeout: 1500, killSignal: "SIGKILL", env: { ...process.env, ...env } });
  // Still running after 1.5 s (killed by the timeout): the configuration was accepted.
  const problem = run.error?.code === "ETIMEDOUT" ? "" : `ferry does not start with it: ${run.stderr.trim()}`;
  startedWith.set(key, problem);
  if (problem) fail(where, problem);
  fs.rmSync(work, { recursive: true, force: true });
}

function checkPod(where, spec, objects) {
  const shutdown = new Map();
  for (const container of spec.containers ?? []) {
    if (!isFerry(container)) continue;
    checkFerryArguments(`${where} container ${container.name}`, container);
    const options = optionsOf(container);
    const ports = new Set((container.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const get = container[probe]?.httpGet;
      if (!get) { fail(where, `${container.name} has no ${probe}`); continue; }
      const wanted = probe === "livenessProbe" ? "/v2/health/live" : "/v2/health/ready";
      if (get.path !== wanted) fail(where, `${probe} asks ${get.path}, not ${wanted}`);
      if (!ports.has(get.port)) fail(where, `${probe} port ${get.port} is not a port of the container`);
      const port = (container.ports ?? []).find((p) => p.name === get.port || p.containerPort === get.port);
      if (port && String(port.containerPort) !== (options.get("--metrics-port") ?? "8002") &&
          String(port.containerPort) !== (options.get("--http-port") ?? "8000")) {
        fail(where, `${probe} port ${get.port} is neither --metrics-port nor --http-port`);
      }
    }
    for (const port of container.ports ?? []) {
      const known = ["--http-port", "--grpc-port", "--metrics-port"].map((o) => options.get(o));
      if (!known.includes(String(port.containerPort))) fail(where, `port ${port.containerPort} is not one ferry listens on`);
    }
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    shutdown.set(container.name, preStop + Number(options.get("--shutdown-timeout") ?? 30));
    if (container.securityContext?.readOnlyRootFilesystem !== true) fail(where, "the root file system is not read-only");
    if (!(container.securityContext?.capabilities?.drop ?? []).includes("ALL")) fail(where, "capabilities are not all dropped");
    const memory = container.resources;
    if (memory?.requests?.memory === undefined || memory.requests.memory !== memory.limits?.memory) {
      fail(where, "memory requests and limits differ");
    }
    // The ConfigMap holding ferry.yaml, started with this container's environment.
    const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const configPath = options.get("--config");
    if (configPath) {
      const mount = (container.volumeMounts ?? []).find((m) => configPath.startsWith(m.mountPath + "/"));
      const volume = mount && (spec.volumes ?? []).find((v) => v.name === mount.name);
      const map = volume?.configMap && objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === volume.configMap.name);
      const key = configPath.slice(mount ? mount.mountPath.length + 1 : 0);
      if (!map?.data?.[key]) fail(where, `--config ${configPath} is not a key of a ConfigMap mounted there`);
      else checkFerryYaml(`${where} ConfigMap ${map.metadata.name} ${key}`, map.data[key], env);
    }
  }
  for (const [name, needed] of shutdown) {
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    if (grace <= needed) fail(where, `terminationGracePeriodSeconds ${grace} leaves no margin over preStop + --shutdown-timeout (${needed} s) for ${name}`);
  }
  if (spec.securityContext?.runAsNonRoot !== true) fail(where, "the pod does not require a non-root user");
}

// objects: those to check; context: the objects they may refer to (a pod's ConfigMaps).
async function checkObjects(source, objects, context = objects) {
  for (const object of objects) {
    const where = `${source} ${object.kind}/${object.metadata?.name}`;
    checked++;
    if (object.apiVersion === "serving.kserve.io/v1alpha1" && object.kind === "ServingRuntime") {
      validateServingRuntime(where, object);
      for (const container of object.spec?.containers ?? []) checkFerryArguments(`${where} ${container.name}`, container);
    } else if (object.apiVersion === "serving.kserve.io/v1beta1" && object.kind === "InferenceService") {
      validateInferenceService(where, object);
    } else {
      await validateKubernetes(where, object);
    }
    if (object.kind === "Deployment") checkPod(where, object.spec?.template?.spec ?? {}, context);
  }
}

function documents(text, source) {
  return YAML.parseAllDocuments(text).map((doc) => {
    if (doc.errors.length) fail(source, doc.errors.map((e) => e.message).join("; "));
    return doc.toJS();
  }).filter((o) => o);
}

const folders = fs.readdirSync(args.manifests, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
for (const folder of folders) {
  const dir = path.join(args.manifests, folder);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
  const all = [];
  let kustomization = null;
  for (const file of files) {
    const source = path.join(folder, file);
    const objects = documents(fs.readFileSync(path.join(dir, file), "utf8"), source);
    if (file === "kustomization.yaml") {
      kustomization = objects[0] ?? {};
      for (const listed of kustomization.resources ?? []) {
        if (!listed.startsWith("..") && !files.includes(listed)) fail(source, `lists ${listed}, which is not there`);
      }
      continue;
    }
    all.push(...objects.map((o) => ({ o, source })));
  }
  // Patches of an overlay are partial objects: only its rendered output is checked.
  if (!kustomization?.patches) {
    for (const { o, source } of all) await checkObjects(source, [o], all.map((x) => x.o));
  }
  if (kustomization) {
    if (!hasKubectl) { console.log(`${folder}: kubectl not installed, kustomize build skipped`); continue; }
    const built = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    if (built.status !== 0) { fail(`${folder} (kustomize)`, built.stderr.trim()); continue; }
    await checkObjects(`${folder} (kustomize)`, documents(built.stdout, `${folder} (kustomize)`));
  }
}

if (failures.length) {
  console.error(failures.join("\n"));
  console.error(`${failures.length} problem(s) in ${args.manifests}`);
  process.exit(1);
}
console.log(`${checked} object(s) valid in ${args.manifests} (kustomize: ${hasKubectl ? "built" : "skipped"})`);
