# Top 10 items for a known user from `kdrec export --format onnx`, with onnxruntime and numpy only.
# python3 examples/onnx_top10.py exports/v1/onnx USER_ID
import json, sys
import numpy as np, onnxruntime as ort

d, user = sys.argv[1], sys.argv[2]
m = json.load(open(f"{d}/onnx_manifest.json"))
items = json.load(open(f"{d}/{m['files']['itemIds']}"))
row = json.load(open(f"{d}/{m['files']['userIds']}")).index(user)
V = np.load(f"{d}/{m['files']['itemVectors']}")  # [N, D] float32, row = catalogue row
tower = m["models"]["user_tower"]
feeds = {i["name"]: np.load(f"{d}/{m['files']['userInputs']}/{i['name']}.npy")[row : row + 1] for i in tower["inputs"]}
sess = ort.InferenceSession(f"{d}/{tower['file']}", providers=["CPUExecutionProvider"])
u = sess.run([tower["outputs"][0]["name"]], feeds)[0][0]  # [D] user vector
scores = V @ u  # dot product = the model's recall score
if m["files"]["itemLive"]:  # items removed since the export keep their row: skip them
    scores[np.load(f"{d}/{m['files']['itemLive']}") == 0] = -np.inf
top = np.argsort(-scores, kind="stable")[:10]
print(json.dumps([[items[i], float(scores[i])] for i in top]))
