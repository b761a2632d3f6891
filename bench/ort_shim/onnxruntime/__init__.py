"""A stand-in for Python's onnxruntime, which is not installable on this machine (not packaged for
Debian; PyPI unreachable). `InferenceSession.run` sends the feeds to onnxruntime-node
(dist/bench/ortShim.js) and returns its outputs as numpy arrays, so examples/onnx_top10.py runs
unchanged under /usr/bin/python3 with every line but the inference itself executed by Python.
Used only by bench/onnxPythonCheck.ts (PYTHONPATH=bench/ort_shim); never a substitute for the real
package in the docs.
"""
import json
import os
import subprocess

import numpy as np

__version__ = "shim (onnxruntime-node)"
_SHIM = os.path.join(os.path.dirname(__file__), "..", "..", "..", "dist", "bench", "ortShim.js")


class InferenceSession:
    def __init__(self, path, providers=None):
        self.path = path

    def run(self, output_names, feeds):
        req = {"model": self.path, "outputs": output_names,
               "feeds": {k: {"type": "int64" if v.dtype == np.int64 else "float32",
                             "dims": list(v.shape), "data": v.ravel().tolist()} for k, v in feeds.items()}}
        out = subprocess.run(["node", _SHIM], input=json.dumps(req), capture_output=True, text=True, check=True)
        return [np.array(o["data"], dtype=np.float32).reshape(o["dims"]) for o in json.loads(out.stdout)]
