import { beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../models/index.ts';
import { randomImages, randomizeWeights, useCpuBackend } from '../testing/tf.ts';
import { modelToOnnx, ONNX_OPSET } from './onnx.ts';
import { onnxModelType } from './onnx-schema.ts';
import { createOrtSession, runOrt } from './ort.ts';
import { EXPORT_FAMILIES, exportVariants, relativeDifference, SMALL } from './testing.ts';

beforeAll(useCpuBackend);

describe.each(EXPORT_FAMILIES)('ONNX export of %s', (_label, spec) => {
  it('runs in ONNX Runtime with the logits of the forward pass (unpruned, compacted, masked)', async () => {
    const x = randomImages(4, SMALL.height, SMALL.width, 3, 7);
    const variants = exportVariants(spec);
    const logits: Float32Array[] = [];
    for (const [variant, model] of variants) {
      const expected = model.forward(x, false).logits;
      const session = await createOrtSession(modelToOnnx(model));
      const got = await runOrt(session, x);
      await session.release();
      expect(got.dims, variant).toEqual(expected.shape);
      const want = expected.dataSync() as Float32Array;
      expect(relativeDifference(got.data, want), variant).toBeLessThan(1e-4);
      logits.push(want);
      expected.dispose();
    }
    // Pruning changed the outputs, so equality above is not the unpruned model answering every time.
    expect(relativeDifference(logits[1]!, logits[0]!)).toBeGreaterThan(1e-3);
    expect(relativeDifference(logits[2]!, logits[0]!)).toBeGreaterThan(1e-3);
    for (const [, m] of variants) m.dispose();
    x.dispose();
  });
});

describe('ONNX file', () => {
  it('declares the opset, the NCHW input with a symbolic batch, and the weights transposed to OIHW', () => {
    const spec = EXPORT_FAMILIES[0]![1];
    const model = Model.init(spec, 1);
    randomizeWeights(model, 2);
    const decoded = onnxModelType().toObject(onnxModelType().decode(modelToOnnx(model)), { longs: Number, bytes: Array }) as {
      opset_import: { domain: string; version: number }[];
      graph: {
        input: { name: string; type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
        initializer: { name: string; dims: number[]; raw_data: number[] }[];
        node: { op_type: string }[];
      };
    };
    expect(decoded.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(decoded.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }, { dim_value: 8 }, { dim_value: 8 }]);
    const conv = decoded.graph.initializer.find((t) => t.dims.length === 4)!;
    const name = conv.name;
    const w = model.param(name).arraySync() as number[][][][]; // [kh][kw][in][out]
    const [kh, kw, cin, cout] = model.param(name).shape as [number, number, number, number];
    expect(conv.dims).toEqual([cout, cin, kh, kw]);
    const raw = new DataView(Uint8Array.from(conv.raw_data).buffer);
    // Element [o][i][y][x] of the OIHW tensor, read from the file, is our w[y][x][i][o].
    for (const [o, i, y, xx] of [[0, 0, 0, 0], [cout - 1, cin - 1, kh - 1, kw - 1], [1, 2, 0, 1]] as const) {
      const at = ((o * cin + i) * kh + y) * kw + xx;
      expect(raw.getFloat32(at * 4, true)).toBeCloseTo(w[y]![xx]![i]![o]!, 6);
    }
    expect(decoded.graph.node.map((n) => n.op_type)).toContain('BatchNormalization');
    model.dispose();
  });
});
