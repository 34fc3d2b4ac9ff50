"""The docs' examples, run: a doc's model folders are built from its own code blocks and served by
the real build/ferry, and the requests it shows are sent, so that an example that stops working
fails here instead of in a user's hands (as Rust's doc tests and Python's doctest do).

A doc marks what to run with HTML comments, invisible on the rendered page:

  <!-- doctest: file PATH -->            the next fenced code block is the file PATH of the repository
  <!-- doctest: write PATH TEXT -->      a file the doc only describes (TEXT, with \\n for newlines)
  <!-- doctest: copy SOURCE PATH -->     a folder of the source tree (examples/models/pima/1) at PATH
  <!-- doctest: serve ARGS -->           extra `ferry serve` arguments
  <!-- doctest: ready NAME... -->        models that must be READY
  <!-- doctest: post PATH BODY => STATUS [JSON] -->
                                         a request and its answer: the status, and a JSON object
                                         the answer must contain (numbers to 5 places; each object
                                         of a list somewhere in the answer's list)
"""
import glob
import json
import os
import re
import shlex
import shutil
import tempfile
import unittest

import models
from ferry_process import FerryProcess

MARKER = re.compile(r"<!--\s*doctest:\s*(\w+)\s*(.*?)\s*-->", re.S)
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def doc_steps(path):
    """The doctest steps of a doc, in order: (kind, argument, the code block after it)."""
    text = open(path).read()
    steps = []
    for m in MARKER.finditer(text):
        block = None
        if m.group(1) == "file":
            fence = FENCE.search(text, m.end())
            block = fence.group(1) if fence else None
        steps.append((m.group(1), m.group(2), block))
    return steps


def contains(answer, expected):
    """Whether `answer` has everything `expected` has (lists element by element)."""
    if isinstance(expected, dict):
        return isinstance(answer, dict) and all(k in answer and contains(answer[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(answer, list):
            return False
        if expected and all(isinstance(e, dict) for e in expected):  # objects: each one somewhere in the answer
            return all(any(contains(a, e) for a in answer) for e in expected)
        return len(answer) == len(expected) and all(contains(a, e) for a, e in zip(answer, expected))
    if isinstance(expected, float):
        return isinstance(answer, (int, float)) and abs(answer - expected) < 1e-5
    return answer == expected


class DocsTest(unittest.TestCase):
    def run_doc(self, name):
        path = os.path.join(models.SOURCE_DIR, "docs", name)
        steps = doc_steps(path)
        self.assertTrue(steps, f"{name} has no doctest markers")
        repo = tempfile.mkdtemp(prefix="ferry_docs_")
        ferry = None
        try:
            serve_args = []
            for kind, argument, block in steps:
                if kind == "file":
                    self.assertIsNotNone(block, f"{name}: 'file {argument}' is not followed by a code block")
                    os.makedirs(os.path.dirname(os.path.join(repo, argument)), exist_ok=True)
                    with open(os.path.join(repo, argument), "w") as f:
                        f.write(block)
                elif kind == "write":
                    target, _, content = argument.partition(" ")
                    os.makedirs(os.path.dirname(os.path.join(repo, target)), exist_ok=True)
                    with open(os.path.join(repo, target), "w") as f:
                        f.write(content.replace("\\n", "\n"))
                elif kind == "copy":
                    source, target = argument.split()
                    shutil.copytree(os.path.join(models.SOURCE_DIR, source), os.path.join(repo, target))
                elif kind == "serve":
                    serve_args += shlex.split(argument)
            ferry = FerryProcess(repo, *serve_args, timeout=60)
            for kind, argument, _ in steps:
                if kind == "ready":
                    _, index, _ = ferry.request("POST", "/v2/repository/index", {})
                    states = {e["name"]: (e["state"], e.get("reason", "")) for e in index if "version" in e}
                    for model in argument.split():
                        self.assertEqual(states.get(model, ("absent", ""))[0], "READY",
                                         f"{name}: model '{model}': {states.get(model)}")
                elif kind == "post":
                    request, _, expectation = argument.partition("=>")
                    target, _, body = request.strip().partition(" ")
                    status_text, _, expected = expectation.strip().partition(" ")
                    status, answer, _ = ferry.request("POST", target, body.strip() or "{}")
                    self.assertEqual(status, int(status_text), f"{name}: POST {target}: {answer}")
                    if expected.strip():
                        self.assertTrue(contains(answer, json.loads(expected)),
                                        f"{name}: POST {target}: {answer} lacks {expected}")
        finally:
            if ferry:
                ferry.stop()
            shutil.rmtree(repo, ignore_errors=True)

    def test_every_doc_with_examples_runs(self):
        docs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(models.SOURCE_DIR, "docs", "*.md"))
                      if "doctest:" in open(p).read())
        self.assertGreaterEqual(set(docs), {"model_repository.md", "pipelines.md", "python.md", "model_lifecycle.md"})
        for doc in docs:
            with self.subTest(doc=doc):
                self.run_doc(doc)


if __name__ == "__main__":
    unittest.main()
