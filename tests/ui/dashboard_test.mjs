// The dashboard end to end, in a real browser: Debian's Chromium headless, driven by playwright-core,
// against the real ferry binary on loopback (docs/dashboard.md).
//
//   node dashboard_test.mjs --modules NODE_MODULES --ferry BUILD/ferry --source SOURCE_DIR --artifacts DIR
//
// Two servers: one open (explicit model control, the example models, a broken model and a router),
// reached once directly and once through a reverse proxy under /ferry/; one with tokens. Checks:
// the model list and states, an UNAVAILABLE model's reason, a bandit's arms, the try-it form for pima-pipeline
// ("diabetic" for the README's record, the field error for a bad one), live figures that move
// under load, router weights set from the page, load/unload with an admin token and no controls
// (and a 403) with a read token; the page over ferry's own TLS. Screenshots go to --artifacts.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
for (const required of ["modules", "ferry", "source", "artifacts"]) {
  if (!args[required]) throw new Error(`usage: --modules DIR --ferry BIN --source DIR --artifacts DIR (no --${required})`);
}
const { chromium } = await import(pathToFileURL(path.join(args.modules, "playwright-core", "index.mjs")).href);

const ADMIN = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const READER = "7e6d5c4b3a291807f6e5d4c3b2a19087";
const RECORD = { preg: 6, plas: 148, pres: 72, skin: 35, test: 0, mass: 33.6, pedi: 0.627, age: 50 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ferry_ui_"));
const children = [];
let failures = 0;

function check(condition, what) {
  console.log(`${condition ? "ok  " : "FAIL"} ${what}`);
  if (!condition) failures += 1;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function repository() {
  const repo = path.join(work, "models");
  fs.cpSync(path.join(args.source, "examples", "models"), repo, { recursive: true });
  fs.mkdirSync(path.join(repo, "broken", "1"), { recursive: true });
  fs.writeFileSync(path.join(repo, "broken", "1", "model.onnx"), "not an onnx model");
  fs.mkdirSync(path.join(repo, "fraud"), { recursive: true });
  fs.writeFileSync(path.join(repo, "fraud", "model.yaml"),
    'router:\n  routes:\n    - {name: stable, target: "pima:1", weight: 90}\n    - {name: canary, target: "pima:1", weight: 10}\n');
  fs.mkdirSync(path.join(repo, "ranker"), { recursive: true });
  fs.writeFileSync(path.join(repo, "ranker", "model.yaml"),
    'router:\n  routes:\n    - {name: blue, target: "pima:1"}\n    - {name: green, target: "pima:1"}\n  bandit: {policy: thompson, min_pulls: 2}\n');
  return repo;
}

// Whether ferry answers ready, over HTTP or (with its self-signed certificate) HTTPS.
function isReady(scheme, port) {
  const client = scheme === "https" ? https : http;
  return new Promise((resolve) => {
    const req = client.get({ host: "127.0.0.1", port, path: "/v2/health/ready", rejectUnauthorized: false },
      (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on("error", () => resolve(false));
  });
}

async function startFerry(repo, extra = [], scheme = "http") {
  const port = await freePort();
  const child = spawn(args.ferry, ["serve", "--model-repository", repo, "--http-host", "127.0.0.1",
    "--http-port", String(port), "--grpc-port", "0", "--metrics-port", "0", "--model-control", "explicit", "--load-model", "*", ...extra],
  { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => { log += d; });
  children.push(child);
  for (let i = 0; i < 300; i += 1) {
    if (await isReady(scheme, port)) return { port, child, log: () => log };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ferry did not become ready: ${log}`);
}

// A reverse proxy that serves ferry under /ferry/, as nginx's `location /ferry/ { proxy_pass ...; }`.
async function startProxy(target) {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (!req.url.startsWith("/ferry/")) { res.writeHead(404); res.end("outside /ferry/"); return; }
    const upstream = http.request({ host: "127.0.0.1", port: target, method: req.method, path: req.url.slice("/ferry".length),
      headers: req.headers }, (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); });
    upstream.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(upstream);
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { port, server };
}

async function load(url, count) {  // `count` pima requests, 8 at a time, straight to ferry
  const body = JSON.stringify({ inputs: [{ name: "features", shape: [1, 8], datatype: "FP32", data: Object.values(RECORD) }] });
  const one = () => fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json" } }).then((r) => r.text());
  for (let i = 0; i < count; i += 8) await Promise.all(Array.from({ length: 8 }, one));
}

// Playwright starts Chromium with a fresh, empty user-data-dir of its own each launch.
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--disable-quic"],
});
const outsideRequests = [];
async function newPage(options = {}) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, ...options });
  page.on("request", (r) => { if (!/^https?:\/\/127\.0\.0\.1:/.test(r.url())) outsideRequests.push(r.url()); });
  page.on("pageerror", (e) => check(false, `no script error on the page (${e.message})`));
  return page;
}
const cell = (page, model, figure) => page.locator(`#models tr[data-model="${model}"] td[data-figure="${figure}"]`);

try {
  fs.mkdirSync(args.artifacts, { recursive: true });
  const repo = repository();
  const open = await startFerry(repo);
  const page = await newPage();
  await page.goto(`http://127.0.0.1:${open.port}/`);

  // The model list: every model with its state; the broken one with its reason.
  await page.locator('#models tr[data-model="pima-pipeline"]').waitFor();
  const names = await page.locator("#models tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.model));
  check(["broken", "fraud", "pima", "pima-features", "pima-pipeline", "pima-pmml"].every((n) => names.includes(n)),
    `the model list shows the models (${names.join(", ")})`);
  check(await page.locator('#models tr[data-model="pima"] .badge').textContent() === "READY", "pima is READY");
  const broken = page.locator('#models tr[data-model="broken"]');
  check(await broken.locator(".badge").textContent() === "UNAVAILABLE", "the broken model is UNAVAILABLE");
  const reason = await broken.locator(".reason").textContent();
  check(/onnx|ONNX/.test(reason), `its reason is shown (${reason.slice(0, 80)})`);
  check(await page.locator("#ready").textContent() === "ready", "the server shows ready");

  // Try it: the README's record is diabetic; a record that breaks a rule shows its field's error.
  await page.locator('#models tr[data-model="pima-pipeline"]').click();
  await page.locator("#field-preg").waitFor();
  for (const [field, value] of Object.entries(RECORD)) await page.fill(`#field-${field}`, String(value));
  await page.click("#try-send");
  await page.locator("#try-body").filter({ hasText: "diabetic" }).waitFor();
  check((await page.locator("#try-status").textContent()) === "200", "the try-it form answers 200 with diabetic");
  check((await page.locator("#try-curl").textContent()).includes("/v2/models/pima-pipeline/predict"), "the curl command is shown");
  check((await page.locator("#try-python").textContent()).includes("requests.post("), "the Python snippet is shown");
  await page.fill("#field-age", "-3");
  await page.click("#try-send");
  await page.locator("#try-form .field-error").waitFor();
  check((await page.locator("#try-status").textContent()) === "422", "a bad record is answered 422");
  const fieldError = await page.locator("#try-form .field-error").textContent();
  check(/age/.test(fieldError), `the field's error is shown beside it (${fieldError})`);
  check(await page.locator("#field-age").evaluate((e) => e.classList.contains("invalid")), "the field is marked");

  // Live figures move under load.
  await page.locator('#models tr[data-model="pima"]').click();
  await load(`http://127.0.0.1:${open.port}/v2/models/pima/infer`, 400);
  await page.waitForFunction(() => {
    const td = document.querySelector('#models tr[data-model="pima"] td[data-figure="requests_per_s"]');
    return td && Number(td.textContent) > 0;
  }, null, { timeout: 15000 });
  check(Number(await cell(page, "pima", "requests_per_s").textContent()) > 0, "pima's requests/s moves under load");
  check((await cell(page, "pima", "p99_ms").textContent()) !== "–", "pima's p99 is shown");
  await load(`http://127.0.0.1:${open.port}/v2/models/pima/infer`, 400);
  await page.waitForTimeout(2500);  // a few more figures for the charts
  const drawn = await page.locator("#model-chart").evaluate((c) => {
    const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let blue = 0;  // the requests/s line (#2b6cb0)
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 2] > 150 && pixels[i] < 90 && pixels[i + 3] > 0) blue += 1;
    return blue;
  });
  check(drawn > 20, `pima's chart draws its requests/s line (${drawn} pixels)`);
  await page.screenshot({ path: path.join(args.artifacts, "dashboard.png"), fullPage: true });

  // Control without tokens: unload and load pima; set the router's weights.
  check(await page.locator("#control").isVisible(), "controls are shown when tokens are off");
  await page.click("#unload");
  await page.locator("#control-result").filter({ hasText: "unloaded" }).waitFor();
  await page.waitForFunction(() => document.querySelector('#models tr[data-model="pima"] .badge')?.textContent !== "READY");
  check(true, "unload from the page takes pima out of READY");
  await page.click("#load");
  await page.locator("#control-result").filter({ hasText: "loaded" }).waitFor();
  await page.waitForFunction(() => document.querySelector('#models tr[data-model="pima"] .badge')?.textContent === "READY");
  check(true, "load from the page brings pima back to READY");
  await page.locator('#models tr[data-model="fraud"]').click();
  await page.locator('#routes input[data-route="canary"]').waitFor();
  await page.fill('#routes input[data-route="stable"]', "50");
  await page.fill('#routes input[data-route="canary"]', "50");
  await page.click("#apply-weights");
  await page.locator("#routing-result").filter({ hasText: "applied" }).waitFor();
  const routing = await fetch(`http://127.0.0.1:${open.port}/v2/models/fraud/routing`).then((r) => r.json());
  check(routing.routes.every((r) => Math.abs(r.weight - 0.5) < 1e-9), `the router's weights are 50/50 (${JSON.stringify(routing.routes.map((r) => r.weight))})`);
  await load(`http://127.0.0.1:${open.port}/v2/models/ranker/infer`, 8);
  await page.locator('#models tr[data-model="ranker"]').click();
  await page.locator("#routes td.arm").filter({ hasText: "pulls" }).first().waitFor();
  const arms = await page.locator("#routes td.arm").allTextContents();
  check(arms.length === 2 && arms.every((a) => /pulls .*P\(best\)/.test(a)), `a bandit's arms show what it learnt (${arms.join(" | ")})`);
  await page.close();

  // Behind a reverse proxy under /ferry/: the same page, every call under the prefix.
  const proxy = await startProxy(open.port);
  const proxied = await newPage();
  const direct = [];
  proxied.on("request", (r) => { if (!new URL(r.url()).pathname.startsWith("/ferry/")) direct.push(r.url()); });
  await proxied.goto(`http://127.0.0.1:${proxy.port}/ferry/ui/`);
  await proxied.locator('#models tr[data-model="pima-pipeline"]').click();
  await proxied.locator("#field-preg").waitFor();
  for (const [field, value] of Object.entries(RECORD)) await proxied.fill(`#field-${field}`, String(value));
  await proxied.click("#try-send");
  await proxied.locator("#try-body").filter({ hasText: "diabetic" }).waitFor();
  check(direct.length === 0, `under /ferry/ every call stays under the prefix (${direct.join(", ")})`);
  await proxied.close();
  proxy.server.close();

  // Tokens: a read token sees the models but no controls, and may not unload; an admin token may.
  const tokens = path.join(work, "tokens");
  fs.writeFileSync(tokens, `${READER} read\n${ADMIN} admin,read,infer\n`);
  const guarded = await startFerry(repo, ["--auth-token-file", tokens]);
  const locked = await newPage();
  await locked.goto(`http://127.0.0.1:${guarded.port}/ui/`);
  await locked.locator("#notice").filter({ hasText: "token" }).waitFor();
  check(true, "without a token the page asks for one");
  await locked.fill("#token", READER);
  await locked.click('#token-form button[type="submit"]');
  await locked.locator('#models tr[data-model="pima"]').click();
  await locked.locator("#detail-summary").filter({ hasText: "onnxruntime" }).waitFor();
  await locked.waitForTimeout(1500);  // a figures round: it says whether this token may control
  check(!(await locked.locator("#control").isVisible()), "a read token sees no controls");
  const refused = await locked.evaluate(async (token) => (await fetch("/v2/repository/models/pima/unload",
    { method: "POST", body: "{}", headers: { Authorization: `Bearer ${token}` } })).status, READER);
  check(refused === 403, `a read token's unload is refused (${refused})`);
  await locked.fill("#token", ADMIN);
  await locked.click('#token-form button[type="submit"]');
  await locked.locator("#control").waitFor({ state: "visible", timeout: 5000 });
  check(true, "an admin token sees the controls");
  await locked.click("#unload");
  await locked.locator("#control-result").filter({ hasText: "unloaded" }).waitFor();
  await locked.click("#load");
  await locked.locator("#control-result").filter({ hasText: "loaded" }).waitFor();
  check(true, "an admin token unloads and loads pima");
  await locked.screenshot({ path: path.join(args.artifacts, "dashboard-admin.png"), fullPage: true });
  await locked.close();

  // Over ferry's own TLS: the same page and calls, on https.
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { cwd: work, stdio: "ignore" });
  const secure = await startFerry(repo, ["--tls-cert", path.join(work, "cert.pem"), "--tls-key", path.join(work, "key.pem")],
    "https");
  const tls = await newPage({ ignoreHTTPSErrors: true });
  await tls.goto(`https://127.0.0.1:${secure.port}/`);
  await tls.locator('#models tr[data-model="pima-pipeline"]').click();
  await tls.locator("#field-preg").waitFor();
  for (const [field, value] of Object.entries(RECORD)) await tls.fill(`#field-${field}`, String(value));
  await tls.click("#try-send");
  await tls.locator("#try-body").filter({ hasText: "diabetic" }).waitFor();
  check((await tls.locator("#try-curl").textContent()).includes("https://127.0.0.1"), "over TLS the page works and says https");
  await tls.close();

  check(outsideRequests.length === 0, `the page asks nothing of any other host (${outsideRequests.join(", ")})`);
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures += 1;
} finally {
  await browser.close();
  for (const child of children) child.kill("SIGTERM");
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
