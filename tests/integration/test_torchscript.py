"""Integration tests of the TorchScript backend on the real build/ferry: modules scripted at test
time with Debian's python3-torch (an MLP returning a tensor, a small CNN returning a dict, a
two-input module returning a tuple, a module that raises), served from model.pt with the tensors
declared in model.yaml, and compared with torch's own outputs; bad files and missing
declarations leave their model UNAVAILABLE with a reason while the rest serves.
"""
import os
import shutil
import tempfile
import unittest
from typing import Dict, Tuple

import numpy as np
import torch

from ferry_process import FerryProcess


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))

    def forward(self, x):
        return self.net(x)


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, image) -> Dict[str, torch.Tensor]:
        h = torch.nn.functional.max_pool2d(torch.relu(self.conv(image)), 2)
        logits = self.fc(h.flatten(1))
        return {"logits": logits, "probs": torch.softmax(logits, dim=1)}


class Pair(torch.nn.Module):
    def forward(self, a, b) -> Tuple[torch.Tensor, torch.Tensor]:
        return a + b, (a * b).sum(dim=1, keepdim=True)


class Checked(torch.nn.Module):
    def forward(self, x):
        if bool((x < 0).any()):
            raise ValueError("negative input")
        return x.sqrt()


def write(repo, name, module, yaml):
    os.makedirs(f"{repo}/{name}/1")
    torch.jit.save(torch.jit.script(module), f"{repo}/{name}/1/model.pt")
    with open(f"{repo}/{name}/model.yaml", "w") as f:
        f.write(yaml)


def tensor(name, array, datatype):
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": array.ravel().tolist()}


class TorchScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(3)
        cls.repo = tempfile.mkdtemp(prefix="ferry_torch_")
        cls.mlp, cls.cnn = Mlp().eval(), Cnn().eval()
        write(cls.repo, "mlp", cls.mlp, """max_batch_size: 64
instances: 2
dynamic_batching: {max_queue_delay_us: 500}
inputs: [{name: input, datatype: FP32, shape: [-1, 8]}]
outputs: [{name: logits, datatype: FP32, shape: [-1, 3]}]
parameters: {intra_op_threads: 1}
""")
        write(cls.repo, "cnn", cls.cnn, """max_batch_size: 16
inputs: [{name: image, datatype: FP32, shape: [-1, 1, 8, 8]}]
outputs: [{name: logits, datatype: FP32, shape: [-1, 5]}, {name: probs, datatype: FP32, shape: [-1, 5]}]
""")
        write(cls.repo, "pair", Pair(), """inputs: [{name: a, datatype: FP64, shape: [2, 3]}, {name: b, datatype: FP64, shape: [2, 3]}]
outputs: [{name: sum, datatype: FP64, shape: [2, 3]}, {name: dot, datatype: FP64, shape: [2, 1]}]
""")
        write(cls.repo, "checked", Checked(), """max_batch_size: 8
inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]
""")
        os.makedirs(f"{cls.repo}/garbage/1")
        with open(f"{cls.repo}/garbage/1/model.pt", "wb") as f:
            f.write(b"PK\x03\x04 this is not a TorchScript archive")
        with open(f"{cls.repo}/garbage/model.yaml", "w") as f:
            f.write("inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]\noutputs: [{name: y, datatype: FP32, shape: [-1, 2]}]\n")
        os.makedirs(f"{cls.repo}/truncated/1")
        with open(f"{cls.repo}/mlp/1/model.pt", "rb") as src, open(f"{cls.repo}/truncated/1/model.pt", "wb") as dst:
            dst.write(src.read()[:600])
        shutil.copy(f"{cls.repo}/garbage/model.yaml", f"{cls.repo}/truncated/model.yaml")
        os.makedirs(f"{cls.repo}/undeclared/1")
        shutil.copy(f"{cls.repo}/mlp/1/model.pt", f"{cls.repo}/undeclared/1/model.pt")
        cls.server = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def infer(self, model, inputs, expect=200):
        status, answer, _ = self.server.request("POST", f"/v2/models/{model}/infer", {"inputs": inputs})
        self.assertEqual(status, expect, answer)
        if expect != 200:
            return answer
        return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}

    def test_mlp_matches_torch(self):
        x = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
        out = self.infer("mlp", [tensor("input", x, "FP32")])
        with torch.no_grad():
            expected = self.mlp(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(out["logits"], expected, rtol=1e-5, atol=1e-5)
        _, meta, _ = self.server.request("GET", "/v2/models/mlp")
        self.assertEqual(meta["platform"], "pytorch_libtorch")
        self.assertEqual(meta["inputs"], [{"name": "input", "datatype": "FP32", "shape": [-1, 8]}])

    def test_cnn_dict_outputs_match_torch(self):
        images = np.random.default_rng(2).normal(size=(3, 1, 8, 8)).astype(np.float32)
        out = self.infer("cnn", [tensor("image", images, "FP32")])
        with torch.no_grad():
            expected = self.cnn(torch.from_numpy(images))
        np.testing.assert_allclose(out["logits"], expected["logits"].numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(out["probs"], expected["probs"].numpy(), rtol=1e-5, atol=1e-6)

    def test_two_inputs_and_a_tuple(self):
        a = np.arange(6, dtype=np.float64).reshape(2, 3)
        b = np.full((2, 3), 0.5)
        out = self.infer("pair", [tensor("a", a, "FP64"), tensor("b", b, "FP64")])
        np.testing.assert_array_equal(out["sum"], a + b)
        np.testing.assert_array_equal(out["dot"], (a * b).sum(axis=1, keepdims=True))

    def test_an_exception_in_the_module_is_a_500_and_the_server_keeps_serving(self):
        answer = self.infer("checked", [tensor("x", np.array([[1, -4]], np.float32), "FP32")], expect=500)
        self.assertIn("TorchScript forward() failed", answer["error"])
        self.assertIn("negative input", answer["error"])
        # The client gets the error, not the traceback with the server's file paths; the log has it.
        self.assertNotIn("Traceback", answer["error"])
        self.assertNotIn(".py", answer["error"])
        self.assertEqual(answer["error"].count("\n"), 0, answer["error"])
        self.assertIn("Traceback of TorchScript", self.server.wait_for_log("Traceback of TorchScript"))
        out = self.infer("checked", [tensor("x", np.array([[1, 4]], np.float32), "FP32")])
        np.testing.assert_array_equal(out["y"], [[1, 2]])

    def test_concurrent_requests_are_batched_and_correct(self):
        rng = np.random.default_rng(5)
        rows = [rng.normal(size=(1, 8)).astype(np.float32) for _ in range(64)]
        bodies = [{"inputs": [tensor("input", r, "FP32")]} for r in rows]
        answers = self.server.post_concurrently("/v2/models/mlp/infer", bodies, clients=16)
        self.assertEqual([a for a in answers if a[0] != 200], [])
        results = [np.array(a[1]["outputs"][0]["data"]).reshape(1, 3) for a in answers]
        with torch.no_grad():
            expected = self.mlp(torch.from_numpy(np.concatenate(rows))).numpy()
        np.testing.assert_allclose(np.concatenate(results), expected, rtol=1e-5, atol=1e-5)

    def test_bad_files_are_unavailable_with_a_reason_and_the_rest_serves(self):
        _, index, _ = self.server.request("POST", "/v2/repository/index", {})
        reasons = {m["name"]: m.get("reason", "") for m in index if m["state"] == "UNAVAILABLE"}
        self.assertIn("not a TorchScript module", reasons.get("garbage", ""), index)
        self.assertIn("not a TorchScript module", reasons.get("truncated", ""), index)
        self.assertIn("needs `inputs` and `outputs` in model.yaml", reasons.get("undeclared", ""), index)
        for name in ("mlp", "cnn", "pair", "checked"):
            self.assertNotIn(name, reasons)


if __name__ == "__main__":
    unittest.main()
