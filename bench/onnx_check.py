"""onnx.checker on every ONNX file of a `kdrec export --format onnx` directory (Triton copies
included), and the numpy side of the README's Python example: the .npy files load with the dtype
and shape the manifest declares. Prints one JSON object. Run by bench/onnxPythonCheck.ts with
Debian's /usr/bin/python3 (apt-get install -y python3-onnx python3-numpy).

    /usr/bin/python3 bench/onnx_check.py DIR
"""
import glob, json, os, sys

import numpy as np
import onnx

d = sys.argv[1]
m = json.load(open(os.path.join(d, "onnx_manifest.json")))
checked = []
for path in sorted(glob.glob(os.path.join(d, "**", "*.onnx"), recursive=True)):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)  # raises on an invalid model
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    checked.append({"file": os.path.relpath(path, d), "opset": model.opset_import[0].version,
                    "ir": model.ir_version, "nodes": len(model.graph.node)})
V = np.load(os.path.join(d, m["files"]["itemVectors"]))
assert V.dtype == np.float32 and V.shape[1] == m["dim"], (V.dtype, V.shape)
n_users = len(json.load(open(os.path.join(d, m["files"]["userIds"]))))
for i in m["models"]["user_tower"]["inputs"]:
    a = np.load(os.path.join(d, m["files"]["userInputs"], i["name"] + ".npy"))
    assert a.dtype == (np.int64 if i["type"] == "int64" else np.float32), (i["name"], a.dtype)
    assert list(a.shape[1:]) == i["dims"][1:] and a.shape[0] == n_users, (i["name"], a.shape)
try:
    import onnxruntime  # noqa: F401
    ort = onnxruntime.__version__
except ImportError:
    ort = None
print(json.dumps({"onnx": onnx.__version__, "numpy": np.__version__, "onnxruntime": ort,
                  "checked": checked, "itemVectors": list(V.shape)}))
