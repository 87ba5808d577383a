import { resolve } from 'node:path';
import { EXPORT_FORMATS, ONNX_OPSET } from '../export/formats.ts';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { str, type Command } from './commands.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a saved model as ONNX (ONNX Runtime and others) or a TensorFlow.js graph model',
  usage: `usage: prunebench export --weights DIR --format ${EXPORT_FORMATS.join('|')} --out PATH [--force]
  --weights DIR  a saved model: the --out of prunebench prune (compacted or masked), or a
                 trained model's folder (spec.json + weights)
  --format onnx  one .onnx file, opset ${ONNX_OPSET}: input "input" NCHW [batch, 3, 32, 32] (as PyTorch
                 exports take it), output "logits" [batch, classes]; BN kept as
                 BatchNormalization (ONNX Runtime folds it into the conv on load); masked
                 models keep their zeros in dense tensors
  --format tfjs  a folder with a TensorFlow.js graph model (model.json + group1-shard1of1.bin)
                 for tf.loadGraphModel: input "input" NHWC [batch, 32, 32, 3], output "logits"
  --force        replace an existing --out`,
  options: { weights: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
  async run({ values }, io) {
    const weights = str(values.weights, 'weights');
    const format = str(values.format, 'format');
    const out = str(values.out, 'out');
    if (!weights) throw new ConfigError('--weights is required (a saved model folder)', 'weights');
    if (!format) throw new ConfigError(`--format is required (${EXPORT_FORMATS.join(' or ')})`, 'format');
    if (!out) throw new ConfigError('--out is required (the .onnx file, or the folder for tfjs)', 'out');
    // The cpu backend reads weights exactly; export runs no training.
    const { initBackend } = await import('../backend/index.ts');
    const { exportSavedModel } = await import('../export/index.ts');
    await initBackend({ backend: 'cpu', logger: silentLogger });
    const r = await exportSavedModel({ weights, format, out, force: values.force === true });
    const zeros = r.zeroWeights > 0 ? `, ${((100 * r.zeroWeights) / r.weights).toFixed(1)}% of conv/linear weights zero (dense tensors)` : '';
    io.out(`wrote ${resolve(r.out)} (${r.format}, ${r.model}, ${(r.bytes / 1e6).toFixed(2)} MB${zeros})`);
    return 0;
  },
};
