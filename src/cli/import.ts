import { resolve } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { silentLogger } from '../util/log.ts';
import { num, str, type Command } from './commands.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'read a PyTorch-trained baseline from an ONNX file into a saved model (spec.json + weights)',
  usage: `usage: prunebench import --onnx FILE --model NAME [--width W] [--dataset cifar10|cifar100] --out DIR
Reads the weights of an ONNX file exported by PyTorch (torch.onnx.export) from the reference
definitions of our families (the Rethinking and Network Slimming repositories' CIFAR vgg, resnet,
preresnet, densenet) and writes them as a saved model that prune, train and export take.
Initializers are mapped by the graph's structure (not by name) onto the named model's layers;
every shape is checked, and a file of another architecture, width or depth is refused with the
first ONNX node that does not fit.
  --onnx FILE    the .onnx file (weights inside the file, NCHW input [batch, 3, 32, 32])
  --model NAME   the architecture it holds (prunebench models lists them), e.g. resnet56
  --width W      its width multiplier, as everywhere (default 1)
  --dataset D    cifar10 (10 classes, the default) or cifar100 (100 classes)
  --out DIR      the saved-model folder to write; must not exist
Export BN unfolded (model.eval(), training=torch.onnx.TrainingMode.PRESERVE): PyTorch's default
export folds each BN that follows a conv into the conv; such a file imports with the same logits,
but with BN gamma 1 and the scale in the conv weights, which BN-based pruning would then misread.
The l1-norm-pruning ResNet's shortcut (torch.cat([x.data, zeros])) is traced as a constant: before
exporting, replace it by the same function without .data: x = F.avg_pool2d(x, 2); return
torch.cat([x, torch.zeros(x.size(0), planes - x.size(1), x.size(2), x.size(3), device=x.device)], 1).`,
  options: { onnx: { type: 'string' }, model: { type: 'string' }, width: { type: 'string' }, dataset: { type: 'string' }, out: { type: 'string' } },
  async run({ values }, io) {
    const file = str(values.onnx, 'onnx');
    const model = str(values.model, 'model');
    const out = str(values.out, 'out');
    if (!file) throw new ConfigError('--onnx is required (the .onnx file to read)', 'onnx');
    if (!model) throw new ConfigError('--model is required (the architecture the file holds, e.g. resnet56; see prunebench models)', 'model');
    if (!out) throw new ConfigError('--out is required (the saved-model folder to write)', 'out');
    const width = num(values.width, 'width') ?? 1;
    if (!(width > 0 && width <= 4)) throw new ConfigError(`--width expects a width multiplier in (0, 4], e.g. 0.25, got ${width}`, 'width');
    const dataset = str(values.dataset, 'dataset') ?? 'cifar10';
    if (dataset !== 'cifar10' && dataset !== 'cifar100') throw new ConfigError(`--dataset expects cifar10 or cifar100, got "${dataset}"`, 'dataset');
    const { initBackend } = await import('../backend/index.ts');
    const { importOnnx } = await import('../export/onnx-import.ts');
    // The cpu backend holds weights exactly; import runs nothing else.
    await initBackend({ backend: 'cpu', logger: silentLogger });
    const r = await importOnnx({ file, model, width, out, numClasses: dataset === 'cifar100' ? 100 : 10 });
    io.out(`wrote ${resolve(r.out)} (${r.model}${width === 1 ? '' : ` at width ${width}`}, ${r.params} weights, from ${r.producer || 'an unnamed producer'})`);
    if (r.foldedBatchNorms.length > 0) {
      io.out(
        `note: ${r.foldedBatchNorms.length} BN layers were folded into their convs by the export; imported as gamma 1, beta = the conv's bias (same logits; BN-based pruning such as Network Slimming would see gamma 1: export with training=torch.onnx.TrainingMode.PRESERVE to keep BN)`,
      );
    }
    return 0;
  },
};
