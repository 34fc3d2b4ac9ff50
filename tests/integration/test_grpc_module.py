"""Integration tests of the gRPC module (src/cli/grpc_module.h) on the real build/ferry: the program
links no gRPC library and maps one only once gRPC is asked for; a missing or corrupt module stops a
server asked for gRPC with a reason naming the file, fails `ferry infer --grpc` the same way, and
changes nothing else; an installed tree finds its module.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from ferry_process import FERRY_BIN, FerryProcess, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRPC_LIBRARIES = ("libgrpc", "libprotobuf", "libabsl", "libgpr", "libupb")
PIMA_INPUT = "features:FP32:1,8:6,148,72,35,0,33.6,0.627,50"


def mapped_files(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[-1] for line in f if ".so" in line.split()[-1]}


def mapped_libraries(pid):
    return {os.path.basename(path) for path in mapped_files(pid)}


def grpc_mapped(pid):
    return sorted(lib for lib in mapped_libraries(pid) if lib.startswith(GRPC_LIBRARIES))


class GrpcModuleTest(unittest.TestCase):
    def setUp(self):
        self.repo = tempfile.mkdtemp(prefix="ferry_grpc_module_")
        self.addCleanup(shutil.rmtree, self.repo, ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, "examples/models", "pima-pmml"), os.path.join(self.repo, "pima-pmml"))

    def serve(self, *args, env=None):
        """`ferry serve` run to its exit (a server that cannot start); returns (exit code, log)."""
        proc = subprocess.run([FERRY_BIN, "serve", "--model-repository", self.repo, "--http-host", "127.0.0.1",
                               "--http-port", "0", "--metrics-port", "0", *args],
                              capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
        return proc.returncode, proc.stderr

    def test_the_binary_links_no_grpc_library(self):
        out = subprocess.run(["ldd", FERRY_BIN], capture_output=True, text=True, timeout=30, check=True).stdout
        for library in GRPC_LIBRARIES:
            self.assertNotIn(library, out)
        version = subprocess.run([FERRY_BIN, "--version"], capture_output=True, text=True, timeout=30, check=True)
        self.assertTrue(version.stdout.startswith("ferry "), version.stdout)

    def test_grpc_is_mapped_only_when_served(self):
        http_only = FerryProcess(self.repo)
        try:
            self.assertEqual(grpc_mapped(http_only.proc.pid), [])
            self.assertNotIn("libferry_grpc.so", mapped_libraries(http_only.proc.pid))
        finally:
            http_only.stop()
        with_grpc = FerryProcess(self.repo, grpc=True)
        try:
            mapped = mapped_libraries(with_grpc.proc.pid)
            self.assertIn("libferry_grpc.so", mapped)
            self.assertTrue(any(lib.startswith("libgrpc") for lib in mapped), mapped)
            answer = subprocess.run([FERRY_BIN, "infer", "--grpc", "--url", f"127.0.0.1:{with_grpc.grpc_port}",
                                     "--model", "pima-pmml", "--input", PIMA_INPUT],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(answer.returncode, 0, answer.stderr)
            self.assertIn('"outputs"', answer.stdout)
        finally:
            with_grpc.stop()

    def test_a_missing_module_stops_only_what_needs_grpc(self):
        missing = os.path.join(self.repo, "nowhere", "libferry_grpc.so")
        env = {"FERRY_GRPC_MODULE": missing}
        code, log = self.serve("--grpc-port", str(free_port()), env=env)
        self.assertEqual(code, 1, log)
        self.assertIn(f"the gRPC module {missing}: not installed", log)
        self.assertIn("--grpc-port 0 serves without gRPC", log)

        http_only = FerryProcess(self.repo, env=env)
        try:
            status, body, _ = http_only.request("POST", "/v2/models/pima-pmml/infer", {
                "inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                            "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})
            self.assertEqual(status, 200, body)
            answer = subprocess.run([FERRY_BIN, "infer", "--grpc", "--url", "127.0.0.1:1", "--model", "pima-pmml",
                                     "--input", PIMA_INPUT],
                                    capture_output=True, text=True, timeout=60, env={**os.environ, **env})
            self.assertEqual(answer.returncode, 1, answer.stderr)
            self.assertIn(f"the gRPC module {missing}: not installed", answer.stderr)
        finally:
            http_only.stop()

    def test_a_corrupt_module_is_refused_with_the_reason(self):
        corrupt = os.path.join(self.repo, "libferry_grpc.so")
        with open(corrupt, "w") as f:
            f.write("not a shared library\n")
        code, log = self.serve("--grpc-port", str(free_port()), env={"FERRY_GRPC_MODULE": corrupt})
        self.assertEqual(code, 1, log)
        self.assertIn(f"the gRPC module {corrupt}: cannot be loaded", log)

    def test_an_installed_tree_finds_its_module(self):
        prefix = tempfile.mkdtemp(prefix="ferry_install_")
        self.addCleanup(shutil.rmtree, prefix, ignore_errors=True)
        subprocess.run(["cmake", "--install", os.path.dirname(os.path.abspath(FERRY_BIN)), "--prefix", prefix,
                        "--component", "server"], check=True, capture_output=True, timeout=120)
        self.assertTrue(os.path.exists(os.path.join(prefix, "lib/ferry/libferry_grpc.so")))
        server = FerryProcess(self.repo, grpc=True, command=[os.path.join(prefix, "bin", "ferry")])
        try:
            # The installed module, not the build tree's.
            self.assertIn(os.path.join(prefix, "lib/ferry/libferry_grpc.so"), mapped_files(server.proc.pid))
            answer = subprocess.run([os.path.join(prefix, "bin", "ferry"), "infer", "--grpc", "--url",
                                     f"127.0.0.1:{server.grpc_port}", "--model", "pima-pmml", "--input", PIMA_INPUT],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(answer.returncode, 0, answer.stderr)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
