#!/usr/bin/env python3
"""Make the PyTorch ONNX fixtures of `prunebench import` (src/export/fixtures/pytorch/).

The CIFAR models are written here the way the reference repositories define them
(Eric-mingjie/rethinking-network-pruning cifar/l1-norm-pruning and cifar/network-slimming,
liuzhuang13/slimming): VGG from a cfg list (Li et al.'s two-layer head and Network Slimming's
one-layer head), ResNet with basic blocks and the option-A shortcut, PreResNet with bottleneck
blocks and channel_selection, DenseNet with basic layers and channel_selection. Each is built at
a tiny width (prunebench's `--width`), given random weights and random BN statistics (so that BN
is exercised), put in eval mode and exported with torch.onnx.export. Beside each .onnx file a
JSON holds a fixed input batch (NCHW) and PyTorch's logits for it.

Two ResNet-20 exports: one keeps BN (training=TrainingMode.PRESERVE on a model in eval mode),
one is PyTorch's default export, which folds each BN that follows a conv into the conv's weight
and bias. prunebench imports both.

Run (Debian: apt-get install python3-torch):  python3 scripts/make-onnx-fixtures.py
"""
import json
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'export', 'fixtures', 'pytorch')


def w(c, m):
    """prunebench's width multiplier: round(c * m), at least 1."""
    return max(1, int(np.floor(c * m + 0.5)))


# VGG (l1-norm-pruning: Linear-BN1d-ReLU-Linear head; network-slimming: one Linear).
class Vgg(nn.Module):
    def __init__(self, cfg, head, hidden=512, num_classes=10):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == 'M':
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(c, v, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c = v
        self.feature = nn.Sequential(*layers)
        if head == 'li2017':
            self.classifier = nn.Sequential(nn.Linear(c, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))
        else:
            self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.feature(x)
        x = nn.AvgPool2d(2)(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


# ResNet (l1-norm-pruning): basic blocks; cfg = first-conv width of each block.
def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, cfg, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, cfg, stride)
        self.bn1 = nn.BatchNorm2d(cfg)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cfg, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


def downsample_basic_block(x, planes):
    # Option A. The reference builds the zeros with torch.Tensor(...).zero_() and detaches the
    # result (x.data); the same values, written so that the exporter traces through them.
    x = nn.AvgPool2d(2, 2)(x)
    zero_pads = torch.zeros(x.size(0), planes - x.size(1), x.size(2), x.size(3))
    return torch.cat([x, zero_pads], dim=1)


class ResNet(nn.Module):
    def __init__(self, depth, m, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        cfg = [w(16, m)] * n + [w(32, m)] * n + [w(64, m)] * n
        self.inplanes = w(16, m)
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(w(16, m), n, cfg[0:n])
        self.layer2 = self._make_layer(w(32, m), n, cfg[n:2 * n], stride=2)
        self.layer3 = self._make_layer(w(64, m), n, cfg[2 * n:3 * n], stride=2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(w(64, m), num_classes)

    def _make_layer(self, planes, blocks, cfg, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = partial(downsample_basic_block, planes=planes)
        layers = [BasicBlock(self.inplanes, planes, cfg[0], stride, downsample)]
        self.inplanes = planes
        for i in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes, cfg[i]))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


# Network Slimming's channel selection (all ones until pruning sets some to zero).
class channel_selection(nn.Module):
    def __init__(self, num_channels):
        super().__init__()
        self.indexes = nn.Parameter(torch.ones(num_channels))

    def forward(self, input_tensor):
        selected_index = np.squeeze(np.argwhere(self.indexes.data.cpu().numpy()))
        if selected_index.size == 1:
            selected_index = np.resize(selected_index, (1,))
        return input_tensor[:, selected_index, :, :]


# PreResNet (network-slimming): bottleneck blocks, BN -> select -> ReLU -> conv first.
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, cfg, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = channel_selection(inplanes)
        self.conv1 = nn.Conv2d(cfg[0], cfg[1], kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cfg[1])
        self.conv2 = nn.Conv2d(cfg[1], cfg[2], kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(cfg[2])
        self.conv3 = nn.Conv2d(cfg[2], planes * 4, kernel_size=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.select(self.bn1(x)))
        out = self.conv1(out)
        out = self.relu(self.bn2(out))
        out = self.conv2(out)
        out = self.relu(self.bn3(out))
        out = self.conv3(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        return out + residual


class PreResNet(nn.Module):
    def __init__(self, depth, m, num_classes=10):
        super().__init__()
        n = (depth - 2) // 9
        p = [w(16, m), w(32, m), w(64, m)]
        cfg = [[p[0], p[0], p[0]], [4 * p[0], p[0], p[0]] * (n - 1), [4 * p[0], p[1], p[1]], [4 * p[1], p[1], p[1]] * (n - 1),
               [4 * p[1], p[2], p[2]], [4 * p[2], p[2], p[2]] * (n - 1), [4 * p[2]]]
        cfg = [item for sub in cfg for item in sub]
        self.inplanes = p[0]
        self.conv1 = nn.Conv2d(3, p[0], kernel_size=3, padding=1, bias=False)
        self.layer1 = self._make_layer(p[0], n, cfg[0:3 * n])
        self.layer2 = self._make_layer(p[1], n, cfg[3 * n:6 * n], stride=2)
        self.layer3 = self._make_layer(p[2], n, cfg[6 * n:9 * n], stride=2)
        self.bn = nn.BatchNorm2d(4 * p[2])
        self.select = channel_selection(4 * p[2])
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(cfg[-1], num_classes)

    def _make_layer(self, planes, blocks, cfg, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, kernel_size=1, stride=stride, bias=False))
        layers = [Bottleneck(self.inplanes, planes, cfg[0:3], stride, downsample)]
        self.inplanes = planes * 4
        for i in range(1, blocks):
            layers.append(Bottleneck(self.inplanes, planes, cfg[3 * i:3 * (i + 1)]))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.relu(self.select(self.bn(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


# DenseNet (network-slimming): basic layers, compression 1, channel selection.
class DenseLayer(nn.Module):
    def __init__(self, inplanes, cfg, growthRate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = channel_selection(inplanes)
        self.conv1 = nn.Conv2d(cfg, growthRate, kernel_size=3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv1(self.relu(self.select(self.bn1(x))))
        return torch.cat((x, out), 1)


class Transition(nn.Module):
    def __init__(self, inplanes, outplanes, cfg):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = channel_selection(inplanes)
        self.conv1 = nn.Conv2d(cfg, outplanes, kernel_size=1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv1(self.relu(self.select(self.bn1(x))))
        return F.avg_pool2d(out, 2)


class DenseNet(nn.Module):
    def __init__(self, depth, growthRate, num_classes=10):
        super().__init__()
        n = (depth - 4) // 3
        self.growthRate = growthRate
        self.inplanes = growthRate * 2
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, padding=1, bias=False)
        self.dense1 = self._make_denseblock(n)
        self.trans1 = self._make_transition()
        self.dense2 = self._make_denseblock(n)
        self.trans2 = self._make_transition()
        self.dense3 = self._make_denseblock(n)
        self.bn = nn.BatchNorm2d(self.inplanes)
        self.select = channel_selection(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(self.inplanes, num_classes)

    def _make_denseblock(self, blocks):
        layers = []
        for _ in range(blocks):
            layers.append(DenseLayer(self.inplanes, self.inplanes, self.growthRate))
            self.inplanes += self.growthRate
        return nn.Sequential(*layers)

    def _make_transition(self):
        return Transition(self.inplanes, self.inplanes, self.inplanes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.trans1(self.dense1(x))
        x = self.trans2(self.dense2(x))
        x = self.dense3(x)
        x = self.relu(self.select(self.bn(x)))
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


def randomize(model, seed):
    """Random weights and BN statistics far enough from the defaults that a wrong mapping shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                if mod.bias is not None:
                    mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
            elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=g))
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))


FIXTURES = [
    # file stem, prunebench model, --width, PyTorch model, keep BN
    ('vgg16-w0.03125', 'vgg16', 0.03125, lambda: Vgg([w(c, 1 / 32) if c != 'M' else c for c in
                                                     [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512]],
                                                    'li2017', hidden=w(512, 1 / 32)), True),
    ('vgg19-w0.03125', 'vgg19', 0.03125, lambda: Vgg([w(c, 1 / 32) if c != 'M' else c for c in
                                                     [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512]],
                                                    'slimming'), True),
    ('resnet20-w0.25', 'resnet20', 0.25, lambda: ResNet(20, 0.25), True),
    ('resnet20-w0.25-folded', 'resnet20', 0.25, lambda: ResNet(20, 0.25), False),
    ('preresnet164-w0.0625', 'preresnet164', 0.0625, lambda: PreResNet(164, 0.0625), True),
    ('densenet40-w0.125', 'densenet40', 0.125, lambda: DenseNet(40, w(12, 0.125)), True),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    # One input batch for all fixtures, with 4 decimals so that JSON holds it exactly as float32.
    x64 = np.round(np.random.default_rng(200).standard_normal((2, 3, 32, 32)), 4)
    x = torch.from_numpy(x64.astype(np.float32))
    with open(os.path.join(OUT, 'input.json'), 'w') as f:
        json.dump({'shape': list(x.shape), 'layout': 'NCHW', 'values': [float(v) for v in x64.flatten()]}, f)
    for i, (stem, name, width, make, keep_bn) in enumerate(FIXTURES):
        torch.manual_seed(i)
        model = make()
        randomize(model, 100 + i)
        model.eval()
        with torch.no_grad():
            logits = model(x)
        path = os.path.join(OUT, f'{stem}.onnx')
        mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(model, x, path, input_names=['input'], output_names=['logits'], opset_version=13,
                          training=mode, dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
        info = {
            'model': name,
            'width': width,
            'batchNormKept': keep_bn,
            'torch': torch.__version__,
            'logits': [float(v) for v in logits.flatten()],
        }
        with open(os.path.join(OUT, f'{stem}.json'), 'w') as f:
            json.dump(info, f)
        print(f'{path}: {os.path.getsize(path)} bytes, logits {list(logits.shape)}', file=sys.stderr)


if __name__ == '__main__':
    main()
