// Writes src/serve/onnx/onnxProto.ts: the official onnx.proto (ONNX IR spec, Apache-2.0) as a string
// constant, so that protobufjs parses the real schema at run time and the file ships inside dist/
// (package.json "files" holds dist/src only). Source: Debian bookworm's python3-onnx 1.12.0-2+b4,
// /usr/lib/python3/dist-packages/onnx/onnx.proto (ONNX v1.12.0, generated from onnx.in.proto).
//   apt-get install -y python3-onnx && node scripts/vendor-onnx-proto.mjs [path/to/onnx.proto]
import { readFileSync, writeFileSync } from 'node:fs';

const src = process.argv[2] ?? '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const lines = readFileSync(src, 'utf8').replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
const out = [
  '/**',
  ' * The official ONNX protobuf schema, vendored verbatim (SPDX-License-Identifier: Apache-2.0, the',
  ' * ONNX Project Contributors; its own header is kept as the first lines below).',
  ' * Source: ONNX v1.12.0 `onnx/onnx.proto`, as shipped by Debian bookworm python3-onnx 1.12.0-2+b4.',
  ' * Regenerate with `node scripts/vendor-onnx-proto.mjs`; do not edit by hand.',
  ' */',
  'export const ONNX_PROTO = [',
  ...lines.map((l) => `  ${JSON.stringify(l)},`),
  "].join('\\n');",
  '',
];
writeFileSync(new URL('../src/serve/onnx/onnxProto.ts', import.meta.url), out.join('\n'));
// The repository's formatter (biome) then turns the quotes single; the text is unchanged.
