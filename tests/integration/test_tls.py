"""TLS on the real build/ferry: HTTPS checked with curl and Python, gRPC over TLS, and mutual TLS
(a client without a certificate signed by --tls-client-ca is refused). Certificates are made with
the openssl command for the test.
"""
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

import grpc

import models
from ferry_process import FERRY_BIN, FerryProcess, free_port
from test_grpc import compile_protos


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d):
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ferry test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=ferry test {name}", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


BODY = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]}


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_tls_")
        cls.pb, cls.pb_grpc = compile_protos(cls.tmp)
        models.save_pima(f"{cls.tmp}/models/pima/1/model.onnx")
        make_certificates(cls.tmp)
        cls.ca = f"{cls.tmp}/ca.pem"
        cls.tls_args = ["--tls-cert", f"{cls.tmp}/server.pem", "--tls-key", f"{cls.tmp}/server.key"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def context(self, client_cert=False):
        context = ssl.create_default_context(cafile=self.ca)
        if client_cert:
            context.load_cert_chain(f"{self.tmp}/client.pem", f"{self.tmp}/client.key")
        return context

    def test_https_and_grpc_over_tls(self):
        ferry = FerryProcess(f"{self.tmp}/models", *self.tls_args, grpc=True, tls_context=self.context())
        try:
            status, body, _ = ferry.request("POST", "/v2/models/pima/infer", BODY)
            self.assertEqual(status, 200, body)
            curl = subprocess.run(["curl", "-sS", "--cacert", self.ca, "-o", "/dev/null", "-w", "%{http_code}",
                                   f"https://127.0.0.1:{ferry.port}/v2/health/ready"],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(curl.stdout, "200", curl.stderr)
            plain = subprocess.run(["curl", "-sS", "-m", "5", f"http://127.0.0.1:{ferry.port}/v2/health/ready"],
                                   capture_output=True, text=True, timeout=30)
            self.assertNotEqual(plain.returncode, 0)  # plain HTTP is not served on a TLS port
            unknown_ca = subprocess.run(["curl", "-sS", "-m", "5", f"https://127.0.0.1:{ferry.port}/v2/health/ready"],
                                        capture_output=True, text=True, timeout=30)
            self.assertNotEqual(unknown_ca.returncode, 0)
            with open(self.ca, "rb") as f:
                credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
            with grpc.secure_channel(f"127.0.0.1:{ferry.grpc_port}", credentials) as channel:
                stub = self.pb_grpc.GRPCInferenceServiceStub(channel)
                self.assertTrue(stub.ServerLive(self.pb.ServerLiveRequest(), timeout=10).live)
        finally:
            self.assertEqual(ferry.stop(), 0)

    def test_mutual_tls_requires_a_client_certificate(self):
        metrics_port = free_port()
        ferry = FerryProcess(f"{self.tmp}/models", *self.tls_args, "--tls-client-ca", self.ca, "--metrics-port",
                             str(metrics_port), grpc=True, tls_context=self.context(client_cert=True))
        try:
            self.assertEqual(ferry.request("POST", "/v2/models/pima/infer", BODY)[0], 200)
            refused = subprocess.run(["curl", "-sS", "-m", "5", "--cacert", self.ca,
                                      f"https://127.0.0.1:{ferry.port}/v2/health/live"],
                                     capture_output=True, text=True, timeout=30)
            self.assertNotEqual(refused.returncode, 0, refused.stdout)
            # Probes without a client certificate: the metrics port serves health, over TLS without mTLS.
            port = metrics_port
            for route, code in (("/v2/health/ready", "200"), ("/v2/health/live", "200"), ("/metrics", "200"),
                                ("/v2/models/pima", "404")):
                probe = subprocess.run(["curl", "-sS", "-m", "5", "--cacert", self.ca, "-o", "/dev/null", "-w",
                                        "%{http_code}", f"https://127.0.0.1:{port}{route}"],
                                       capture_output=True, text=True, timeout=30)
                self.assertEqual(probe.stdout, code, (route, probe.stderr))
            with open(self.ca, "rb") as f:
                ca = f.read()
            with grpc.secure_channel(f"127.0.0.1:{ferry.grpc_port}", grpc.ssl_channel_credentials(ca)) as channel:
                stub = self.pb_grpc.GRPCInferenceServiceStub(channel)
                with self.assertRaises(grpc.RpcError):
                    stub.ServerLive(self.pb.ServerLiveRequest(), timeout=5)
            with open(f"{self.tmp}/client.key", "rb") as k, open(f"{self.tmp}/client.pem", "rb") as c:
                credentials = grpc.ssl_channel_credentials(ca, k.read(), c.read())
            with grpc.secure_channel(f"127.0.0.1:{ferry.grpc_port}", credentials) as channel:
                stub = self.pb_grpc.GRPCInferenceServiceStub(channel)
                self.assertTrue(stub.ServerLive(self.pb.ServerLiveRequest(), timeout=10).live)
        finally:
            self.assertEqual(ferry.stop(), 0)

    def test_ferry_infer_and_bench_reach_a_server_with_mutual_tls_and_tokens(self):
        with open(f"{self.tmp}/tokens", "w") as f:
            f.write("s3cret-token-0123456789 read,infer\n")  # bench reads the metadata

        with open(f"{self.tmp}/token", "w") as f:
            f.write("s3cret-token-0123456789\n")
        ferry = FerryProcess(f"{self.tmp}/models", *self.tls_args, "--tls-client-ca", self.ca, "--auth-token-file",
                             f"{self.tmp}/tokens", grpc=True, tls_context=self.context(client_cert=True))
        security = ["--ca", self.ca, "--cert", f"{self.tmp}/client.pem", "--key", f"{self.tmp}/client.key"]
        try:
            for url, extra in ((f"https://127.0.0.1:{ferry.port}", []),
                               (f"https://127.0.0.1:{ferry.port}", ["--binary"]),
                               (f"https://127.0.0.1:{ferry.grpc_port}", ["--grpc"])):
                args = [FERRY_BIN, "infer", "--url", url, "--model", "pima", "--input",
                        "features:FP32:1,8:6,148,72,35,0,33.6,0.627,50", *security, *extra]
                done = subprocess.run([*args, "--token-file", f"{self.tmp}/token"], capture_output=True, text=True,
                                      timeout=30)
                self.assertEqual(done.returncode, 0, (url, extra, done.stderr))
                self.assertIn('"probability"', done.stdout)
                done = subprocess.run([*args, "--token", "s3cret-token-0123456789"], capture_output=True, text=True, timeout=30)
                self.assertEqual(done.returncode, 0, (url, extra, done.stderr))
                refused = subprocess.run(args, capture_output=True, text=True, timeout=30)  # no token
                self.assertNotEqual(refused.returncode, 0)
                self.assertRegex(refused.stderr, "401|UNAUTHENTICATED")
            for url, protocol in ((f"https://127.0.0.1:{ferry.port}", "http"),
                                  (f"https://127.0.0.1:{ferry.grpc_port}", "grpc")):
                done = subprocess.run([FERRY_BIN, "bench", "--url", url, "--protocol", protocol, "--model", "pima",
                                       "--duration", "0.3", "--warmup", "0.1", "--json", "--token", "s3cret-token-0123456789",
                                       *security], capture_output=True, text=True, timeout=60)
                self.assertEqual(done.returncode, 0, (protocol, done.stderr))
                (step,) = json.loads(done.stdout)
                self.assertGreater(step["requests"], 0, protocol)
                self.assertEqual(step["errors"], 0, (protocol, step))
        finally:
            self.assertEqual(ferry.stop(), 0)


if __name__ == "__main__":
    unittest.main()
