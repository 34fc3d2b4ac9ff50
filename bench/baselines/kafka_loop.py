"""The per-event Python stream loop that ferry's Kafka streams are compared with (the Maki Nage /
MLServer style): python3-confluent-kafka consumes one event at a time, computes the Pima
features (log1p(mass), is_adult), scores them with scikit-learn, and produces the answer.

    /usr/bin/python3 bench/baselines/kafka_loop.py BOOTSTRAP SOURCE SINK GROUP COUNT

Prints "RESULT <events> <seconds from first to last output> <events/s>" once COUNT answers are
acknowledged. Offsets are auto-committed (the usual setting of such loops: at most once).
"""
import json
import math
import os
import sys
import time

import numpy as np
from confluent_kafka import Consumer, Producer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_model import build  # noqa: E402  the same coefficients as the baselines of bench/baselines.sh


def main():
    bootstrap, source, sink, group, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    clf = build(engineered=True)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
    consumer.subscribe([source])
    delivered = 0
    first = None

    def on_delivery(err, _msg):
        nonlocal delivered
        if err is None:
            delivered += 1

    while delivered < count:
        msg = consumer.poll(0.1)
        producer.poll(0)
        if msg is None or msg.error():
            continue
        r = json.loads(msg.value())
        x = np.array([[r["preg"], r["plas"], r["pres"], r["skin"], r["test"], math.log1p(r["mass"]), r["pedi"],
                       r["age"], 1.0 if r["age"] > 18 else 0.0]])
        p = float(clf.predict_proba(x)[0, 1])
        answer = json.dumps({"probability": p, "label": "diabetic" if p > 0.5 else "healthy"})
        while True:
            try:
                producer.produce(sink, answer, key=msg.key(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        if first is None:
            first = time.time()
    producer.flush()
    elapsed = time.time() - first
    print(f"RESULT {count} {elapsed:.3f} {count / elapsed:.0f}")
    consumer.close()


if __name__ == "__main__":
    main()
