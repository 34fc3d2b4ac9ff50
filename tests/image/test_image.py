"""Tests of a built image (deploy/image, `make test-image`): no container can run on the machines
this runs on, so the image's file system is exported (podman create + export) and ferry runs in it
with chroot, as the image's user, on a read-only root with /proc and a /tmp mounted, the way a
container runtime would give them. Checked: the image's configuration (user, entry point, ports,
labels), that every shared library of ferry and its plugins resolves inside the image, that there is
no shell nor package manager, that files belong to root and the user cannot write them, and that
`ferry serve` on the image's /models answers health, metadata and inferences for each backend the
variant ships (and names the plugins it leaves out).

Environment: FERRY_IMAGE_VARIANT (cpu, python or full; default cpu) names the image
localhost/ferry:<version>-<variant>, the version from FERRY_BIN.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../integration"))
from ferry_process import FERRY_BIN, FerryProcess  # noqa: E402
from models import pima_probability  # noqa: E402
from test_plugins import PYTHON_MODEL, PYTHON_YAML  # noqa: E402
from test_torchscript import Pair, write as write_torchscript  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PODMAN = ["podman", "--storage-driver", "vfs"]
USER = 65532
PIMA_ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]


def image_name():
    version = subprocess.run([FERRY_BIN, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    return f"localhost/ferry:{version}-{os.environ.get('FERRY_IMAGE_VARIANT', 'cpu')}"


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kwargs).stdout


def write_xgboost_model(folder):
    import numpy as np
    import xgboost
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3},
                            xgboost.DMatrix(x, label=(x[:, 0] + x[:, 1] > 0)), num_boost_round=5)
    os.makedirs(os.path.join(folder, "1"))
    booster.save_model(os.path.join(folder, "1", "model.json"))
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write("parameters: {nthread: 1}\n")
    return booster


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = image_name()
        inspect = json.loads(run(*PODMAN, "image", "inspect", cls.image))
        cls.config = inspect[0]["Config"]
        cls.labels = cls.config.get("Labels") or {}
        cls.variant = cls.labels.get("io.ferry.variant")
        cls.work = tempfile.mkdtemp(prefix="ferry_image_")
        cls.root = os.path.join(cls.work, "root")
        os.makedirs(cls.root)
        container = run(*PODMAN, "create", cls.image).strip()
        try:
            export = subprocess.Popen([*PODMAN, "export", container], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-x", "--numeric-owner", "-p", "-C", cls.root], stdin=export.stdout, check=True)
            export.stdout.close()
            if export.wait() != 0:
                raise RuntimeError("podman export failed")
        finally:
            run(*PODMAN, "rm", container)
        cls.mounts = []

    @classmethod
    def tearDownClass(cls):
        for mount in reversed(cls.mounts):
            subprocess.run(["umount", "-l", mount], check=False)
        shutil.rmtree(cls.work, ignore_errors=True)

    def chroot(self, *args, check=True):
        return subprocess.run(["chroot", f"--userspec={USER}:{USER}", self.root, *args],
                              capture_output=True, text=True, check=check, timeout=60)

    def test_configuration_runs_ferry_serve_as_a_user_on_models(self):
        self.assertEqual(self.config["User"], f"{USER}:{USER}")
        self.assertEqual(self.config["Entrypoint"], ["/usr/bin/ferry", "serve"])
        self.assertEqual(self.config["Cmd"], ["--model-repository=/models", "--http-host=0.0.0.0"])
        self.assertEqual(set(self.config["ExposedPorts"]), {"8000/tcp", "8001/tcp", "8002/tcp"})
        version = run(FERRY_BIN, "--version").split()[1]
        self.assertEqual(self.labels["org.opencontainers.image.version"], version)
        self.assertRegex(self.labels["org.opencontainers.image.revision"], r"^[0-9a-f]{40}$")
        self.assertIn("org.opencontainers.image.source", self.labels)
        self.assertIn(self.variant, ("cpu", "python", "full"))
        # Every package of the image, pinned: the same versions as its dpkg database.
        pinned = dict(p.split("=", 1) for p in self.labels["io.ferry.debian-packages"].split())
        for package in ("libc6", "libssl3", "librdkafka1", "libgrpc++1.51", "ca-certificates", "tzdata"):
            self.assertIn(package, pinned)
        with open(os.path.join(self.root, "var/lib/dpkg/status")) as f:
            status = f.read()
        for package, version in pinned.items():
            self.assertIn(f"Package: {package}\n", status)
            self.assertIn(f"Version: {version}\n", status)

    def test_ferry_runs_as_the_user_and_prints_its_version(self):
        out = self.chroot("/usr/bin/ferry", "--version").stdout
        self.assertEqual(out.split()[1], self.labels["org.opencontainers.image.version"])

    def test_every_shared_library_resolves_inside_the_image(self):
        files = ["/usr/bin/ferry"]
        backends = os.path.join(self.root, "usr/lib/ferry/backends")
        files += [f"/usr/lib/ferry/backends/{name}" for name in sorted(os.listdir(backends))]
        self.assertIn("/usr/lib/ferry/backends/libferry_backend_onnxruntime.so", files)
        for path in files:
            # ldd is a shell script; the dynamic loader's --list is what it runs.
            result = self.chroot("/lib64/ld-linux-x86-64.so.2", "--list", path, check=False)
            self.assertEqual(result.returncode, 0, f"{path}: {result.stdout}{result.stderr}")
            self.assertNotIn("not found", result.stdout, path)

    def test_the_variant_ships_its_plugins_and_no_others(self):
        expected = {"cpu": {"onnxruntime", "xgboost"},
                    "python": {"onnxruntime", "xgboost", "python"},
                    "full": {"onnxruntime", "xgboost", "python", "torchscript"}}[self.variant]
        shipped = {name[len("libferry_backend_"):-3]
                   for name in os.listdir(os.path.join(self.root, "usr/lib/ferry/backends"))}
        self.assertEqual(shipped, expected)
        if "python" not in expected:
            self.assertFalse([n for n in os.listdir(os.path.join(self.root, "usr/lib/x86_64-linux-gnu"))
                              if n.startswith("libpython")])
        if "torchscript" not in expected:
            self.assertFalse(os.path.exists(os.path.join(self.root, "usr/lib/x86_64-linux-gnu/libtorch.so")))

    def test_no_shell_no_package_manager_and_the_user_cannot_write(self):
        for tool in ("bin/sh", "bin/bash", "bin/dash", "usr/bin/apt-get", "usr/bin/dpkg", "usr/bin/perl"):
            self.assertFalse(os.path.lexists(os.path.join(self.root, tool)), tool)
        writable = []
        for folder, dirs, files in os.walk(self.root):
            rel = os.path.relpath(folder, self.root)
            if rel == ".":  # mount points, and the folders the user may write
                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "tmp", "home")]
            for name in dirs + files:
                info = os.lstat(os.path.join(folder, name))
                if os.path.islink(os.path.join(folder, name)):
                    continue
                if info.st_uid != 0 or info.st_mode & 0o002:
                    writable.append(os.path.join(rel, name))
        self.assertEqual(writable, [])
        home = os.stat(os.path.join(self.root, "home/ferry"))
        self.assertEqual((home.st_uid, home.st_gid), (USER, USER))
        self.assertEqual(os.stat(os.path.join(self.root, "tmp")).st_mode & 0o7777, 0o1777)

    def serve(self):
        """ferry serve on the image's /models, chrooted as the user, on a read-only root."""
        models = os.path.join(self.root, "models")
        for name in ("pima", "pima-features", "pima-pmml", "pima-pipeline"):
            shutil.copytree(os.path.join(ROOT, "examples/models", name), os.path.join(models, name))
        self.booster = write_xgboost_model(os.path.join(models, "xgb"))
        os.makedirs(os.path.join(models, "python-double", "1"))
        with open(os.path.join(models, "python-double", "1", "model.py"), "w") as f:
            f.write(PYTHON_MODEL)
        with open(os.path.join(models, "python-double", "model.yaml"), "w") as f:
            f.write(PYTHON_YAML)
        write_torchscript(models, "torch-pair", Pair(), "inputs: [{name: a, datatype: FP64, shape: [1, 2]}, "
                          "{name: b, datatype: FP64, shape: [1, 2]}]\noutputs: [{name: sum, datatype: FP64, "
                          "shape: [1, 2]}, {name: dot, datatype: FP64, shape: [1, 1]}]\n")
        for mount in (["--bind", self.root, self.root], ["-o", "remount,ro,bind", self.root],
                      ["-t", "proc", "proc", os.path.join(self.root, "proc")],
                      ["-t", "tmpfs", "-o", "mode=1777", "tmpfs", os.path.join(self.root, "tmp")]):
            subprocess.run(["mount", *mount], check=True)
            if mount[0] != "-o":
                self.mounts.append(mount[-1])
        return FerryProcess("/models", grpc=True, wait_ready=False,
                            command=["chroot", f"--userspec={USER}:{USER}", self.root, "/usr/bin/ferry"])

    def test_serves_the_model_repository_on_a_read_only_root(self):
        server = self.serve()
        self.addCleanup(server.stop)
        self.assertTrue(server.wait_ready(60), server.log())
        with self.assertRaises(OSError):
            open(os.path.join(self.root, "usr/bin/written"), "w")
        status, index, _ = server.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200)
        states = {m["name"]: (m["state"], m.get("reason", "")) for m in index}
        for name in ("pima", "pima-features", "pima-pmml", "pima-pipeline", "xgb"):
            self.assertEqual(states[name][0], "READY", f"{name}: {states[name]}\n{server.log()}")

        expected = pima_probability(PIMA_ROW)
        for name in ("pima", "pima-pmml"):
            status, body, _ = server.request("POST", f"/v2/models/{name}/infer", {"inputs": [
                {"name": "features", "shape": [1, 8], "datatype": "FP32", "data": PIMA_ROW}]})
            self.assertEqual(status, 200, body)
            outputs = {o["name"]: o["data"] for o in body["outputs"]}
            self.assertTrue(any(abs(v[-1] - expected) < 1e-4 for v in outputs.values()), (name, body))

        import numpy as np
        import xgboost
        x = np.array([[0.5, -0.2, 1.0, 0.0], [-1.0, -0.5, 0.0, 2.0]], dtype=np.float32)
        want = self.booster.predict(xgboost.DMatrix(x))
        status, body, _ = server.request("POST", "/v2/models/xgb/infer", {"inputs": [
            {"name": "features", "shape": [2, 4], "datatype": "FP32", "data": x.flatten().tolist()}]})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["outputs"][0]["data"]), 2)
        for got, w in zip(body["outputs"][0]["data"], want):
            self.assertAlmostEqual(got, float(w), places=5)

        if self.variant == "cpu":
            state, reason = states["python-double"]
            self.assertEqual(state, "UNAVAILABLE")
            self.assertIn("python backend plugin /usr/lib/ferry/backends/libferry_backend_python.so", reason)
        else:
            self.assertEqual(states["python-double"][0], "READY", states["python-double"])
            status, body, _ = server.request("POST", "/v2/models/python-double/infer", {"inputs": [
                {"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2]}]})
            self.assertEqual((status, body["outputs"][0]["data"]), (200, [3.0, 4.0]), body)

        if self.variant != "full":
            state, reason = states["torch-pair"]
            self.assertEqual(state, "UNAVAILABLE")
            self.assertIn("torchscript backend plugin /usr/lib/ferry/backends/libferry_backend_torchscript.so", reason)
        else:
            self.assertEqual(states["torch-pair"][0], "READY", states["torch-pair"])
            status, body, _ = server.request("POST", "/v2/models/torch-pair/infer", {"inputs": [
                {"name": "a", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]},
                {"name": "b", "shape": [1, 2], "datatype": "FP64", "data": [3, 4]}]})
            self.assertEqual(status, 200, body)
            self.assertEqual({o["name"]: o["data"] for o in body["outputs"]}, {"sum": [4, 6], "dot": [11]})

        status, body, _ = server.request("GET", "/v2/health/live")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
