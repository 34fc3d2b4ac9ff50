"""Starts the real ferry binary on a free loopback port for integration tests, and stops it."""
import os
import re
import socket
import subprocess
import threading
import time
import http.client
import json

FERRY_BIN = os.environ.get("FERRY_BIN", os.path.join(os.path.dirname(__file__), "../../build/ferry"))


def free_port():
    """A port that was free a moment ago (for gRPC, whose port 0 means "off")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FerryProcess:
    """`ferry serve` on 127.0.0.1 with --http-port 0; reads the bound port from its log.

    With grpc=True it also serves gRPC on a free port (self.grpc_port); otherwise gRPC is off.
    command replaces the binary (for example a chroot running an image's /usr/bin/ferry); env adds
    environment variables to the server's.
    """

    def __init__(self, repository, *extra_args, grpc=False, timeout=30.0, wait_ready=True, tls_context=None,
                 command=None, env=None):
        self.tls_context = tls_context  # an ssl.SSLContext for a server started with --tls-cert
        self.grpc_port = free_port() if grpc else 0
        self.log_lines = []
        self._log_lock = threading.Lock()
        self.proc = subprocess.Popen(
            [*(command or [FERRY_BIN]), "serve", "--model-repository", str(repository), "--http-host", "127.0.0.1",
             "--http-port", "0", "--grpc-port", str(self.grpc_port),
             *([] if "--metrics-port" in extra_args else ["--metrics-port", "0"]), *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,  # ferry logs and errs on stderr
            env={**os.environ, **(env or {})})
        self.port = None
        port_seen = threading.Event()

        def pump():
            for line in self.proc.stderr:
                with self._log_lock:
                    self.log_lines.append(line.rstrip("\n"))
                m = re.search(r"serving KServe V2 HTTPS? on 127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    port_seen.set()
            port_seen.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        if not port_seen.wait(timeout) or self.port is None:
            self.stop()
            raise RuntimeError("ferry did not start:\n" + "\n".join(self.log_lines))
        if wait_ready and not self.wait_ready(timeout):
            self.stop()
            raise RuntimeError("ferry did not become ready:\n" + "\n".join(self.log_lines))

    def wait_ready(self, timeout=30.0):
        """Polls /v2/health/ready until it answers 200 (models load after the port opens)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.request("GET", "/v2/health/ready")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log(self):
        with self._log_lock:
            return "\n".join(self.log_lines)

    def wait_for_log(self, text, timeout=10.0):
        """The log once it holds `text` (lines are read from stderr by a thread, so a line the
        server wrote while answering may arrive just after the answer); the log as it is on timeout."""
        deadline = time.time() + timeout
        while text not in self.log() and time.time() < deadline:
            time.sleep(0.02)
        return self.log()

    def connection(self):
        if self.tls_context:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=self.tls_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, parsed JSON body or raw text, response headers)."""
        own = conn is None
        conn = conn or self.connection()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            return response.status, parsed, dict(response.getheaders())
        finally:
            if own:
                conn.close()

    def post_raw(self, path, body, headers):
        """POSTs bytes as they are; returns (status, body bytes, headers with lower-case names)."""
        conn = self.connection()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()

    def post_concurrently(self, path, bodies, clients, timeout=120.0):
        """POSTs each body from `clients` threads (keep-alive connections, body i on client
        i % clients); returns the answers in the order of `bodies`: (status, parsed body), or
        (None, repr(exception)). Raises when a client is still stuck after `timeout`."""
        answers = [None] * len(bodies)

        def client(i):
            conn = self.connection()
            try:
                for j in range(i, len(bodies), clients):
                    try:
                        status, answer, _ = self.request("POST", path, bodies[j], conn=conn)
                        answers[j] = (status, answer)
                    except Exception as e:  # the caller sees it as an answer
                        answers[j] = (None, repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        if any(t.is_alive() for t in threads):
            raise AssertionError(f"a client of {path} is stuck after {timeout} s")
        return answers

    def stop(self, timeout=15.0):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump.join(5)
        if not self._pump.is_alive():
            self.proc.stderr.close()
        return self.proc.returncode
