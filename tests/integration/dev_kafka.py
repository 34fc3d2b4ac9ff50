"""A Kafka-protocol broker for the integration tests (`ferry dev-kafka`, librdkafka's mock cluster
on loopback) and kcat, the independent client that writes events and reads topics back."""
import os
import signal
import subprocess
import time

from ferry_process import FERRY_BIN


class DevKafka:
    """`ferry dev-kafka` with the given topics ("name:partitions"); stop() ends it."""

    def __init__(self, topics, brokers=1, port=0):
        self.proc = subprocess.Popen([FERRY_BIN, "dev-kafka", "--brokers", str(brokers), "--port", str(port),
                                      *sum((["--topic", t] for t in topics), [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        if not self.bootstrap:
            self.stop()
            raise RuntimeError("ferry dev-kafka printed no bootstrap address")

    def fail(self, request, error, count=1):
        """The broker's next `count` requests of kind `request` fail with Kafka error `error`."""
        self.proc.stdin.write(f"fail {request} {error} {count}\n")
        self.proc.stdin.flush()

    def stop(self):
        self.proc.stdout.close()
        self.proc.stdin.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def produce(self, work, topic, events, headers=(), partition=None):
        """events: (key, value) pairs, sent with kcat in order (with `headers`, name=value; to
        `partition` when given); the events are written to a file in `work` first."""
        path = os.path.join(work, f"{topic}.events")
        with open(path, "w") as f:
            for key, value in events:
                f.write(f"{key}\t{value}\n")
        args = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-K", "\t", "-l", path]
        for h in headers:
            args += ["-H", h]
        if partition is not None:
            args += ["-p", str(partition)]
        subprocess.run(args, check=True, timeout=120)

    def consume(self, topic, expected, timeout=120):
        """Every message of the topic as [partition, key, headers, value], once at least `expected`
        are there (or `timeout` passed). Headers are kcat's "name=value,..."."""
        deadline = time.time() + timeout
        while True:
            out = subprocess.run(["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                                  "-f", "%p\x1f%k\x1f%h\x1f%s\x1e"], capture_output=True, text=True, timeout=120).stdout
            messages = [m.split("\x1f") for m in out.split("\x1e") if m]
            if len(messages) >= expected or time.time() > deadline:
                return messages
            time.sleep(0.5)
