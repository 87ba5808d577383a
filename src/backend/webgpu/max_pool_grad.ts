/**
 * MaxPoolGrad for tfjs-backend-webgpu 4.22 that sends a tied window's gradient to its FIRST
 * maximum, as the cpu, wasm and onednn backends (and PyTorch) do. The stock kernel's positions
 * shader keeps the last (`value >= currMaxValue`), so on ties (e.g. a window of equal values) the
 * gradient lands on another element than on every other backend. This is the stock kernel with
 * `>` in that comparison; the backprop shader is the stock one (it is not exported, so it is
 * repeated here).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-webgpu's program interface and backend that these kernels use. */
interface WebgpuProgram {
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  getUserCode(): string;
}
type Uniform = { type: 'int32'; data: number[] };
interface WebgpuBackendLike {
  runWebGPUProgram(program: WebgpuProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: Uniform[]): tf.TensorInfo;
  disposeData(dataId: object): void;
}

/**
 * The flat 1-D dispatch of tfjs-backend-webgpu's elementwise programs (webgpu_util's
 * flatDispatchLayout and computeDispatch); the backend itself splits a dispatch that exceeds the
 * device's per-dimension limit.
 */
function flatProgram(outputShape: number[], workgroup: number): Pick<WebgpuProgram, 'workgroupSize' | 'size' | 'outputShape' | 'dispatchLayout' | 'dispatch'> {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return { workgroupSize: [workgroup, 1, 1], size: true, outputShape, dispatchLayout: { x: outputShape.map((_, i) => i) }, dispatch: [Math.ceil(size / workgroup), 1, 1] };
}

function firstMaxPositionsProgram(info: tf.backend_util.Conv2DInfo): WebgpuProgram {
  return {
    variableNames: ['x'],
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, dilations : vec2<i32>, convDims : vec2<i32>, filterDims : vec2<i32>,',
    ...flatProgram(info.outShape, 128),
    shaderKey: 'prunebench_maxPool2D_firstMaxPositions',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let batch = coords[0];
          let d = coords[3];
          let xRCCorner = vec2<i32>(coords.yz) * uniforms.strides - uniforms.pads;
          var maxValue = 0.0;
          var found = false;
          var maxPosition = 0;
          for (var wR = 0; wR < uniforms.filterDims.x; wR = wR + uniforms.dilations.x) {
            let xR = xRCCorner.x + wR;
            if (xR < 0 || xR >= uniforms.convDims.x) { continue; }
            for (var wC = 0; wC < uniforms.filterDims.y; wC = wC + uniforms.dilations.y) {
              let xC = xRCCorner.y + wC;
              if (xC < 0 || xC >= uniforms.convDims.y) { continue; }
              let value = getX(batch, xR, xC, d);
              // Strictly greater: the first maximum in window order wins a tie.
              if (!found || value > maxValue) {
                maxValue = value;
                found = true;
                maxPosition = wR * uniforms.filterDims.y + wC;
              }
            }
          }
          setOutputAtIndexI32(index, maxPosition);
        }
      }`,
  };
}

function backpropProgram(info: tf.backend_util.Conv2DInfo): WebgpuProgram {
  return {
    variableNames: ['dy', 'maxPos'],
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, dilations : vec2<i32>, filterDims : vec2<i32>, outHeight : i32, outWidth : i32',
    ...flatProgram(info.inShape, 64),
    shaderKey: 'prunebench_maxPool2DBackprop',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let batch = coords[0];
          let d = coords[3];
          let dyRCCorner = vec2<i32>(coords.yz) - uniforms.pads;
          var dotProd = 0.0;
          let lastIndex = uniforms.filterDims[0] * uniforms.filterDims[1] - 1;
          for (var wR = 0; wR < uniforms.filterDims[0]; wR += uniforms.dilations[0]) {
            let dyR = f32(dyRCCorner.x + wR) / f32(uniforms.strides[0]);
            if (dyR < 0.0 || dyR >= f32(uniforms.outHeight) || fract(dyR) > 0.0) { continue; }
            let idyR = i32(dyR);
            for (var wC = 0; wC < uniforms.filterDims[1]; wC += uniforms.dilations[1]) {
              let dyC = f32(dyRCCorner.y + wC) / f32(uniforms.strides[1]);
              if (dyC < 0.0 || dyC >= f32(uniforms.outWidth) || fract(dyC) > 0.0) { continue; }
              let idyC = i32(dyC);
              let maxPosValue = lastIndex - i32(getMaxPos(batch, idyR, idyC, d));
              let curPosValue = wR * uniforms.filterDims[1] + wC;
              dotProd += getDy(batch, idyR, idyC, d) * select(0.0, 1.0, maxPosValue == curPosValue);
            }
          }
          setOutputAtIndex(index, dotProd);
        }
      }`,
  };
}

function maxPoolGrad({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const b = backend as WebgpuBackendLike;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const positions = b.runWebGPUProgram(firstMaxPositionsProgram(info), [input], 'int32', [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
    { type: 'int32', data: [info.inHeight, info.inWidth] },
    { type: 'int32', data: [info.effectiveFilterHeight, info.effectiveFilterWidth] },
  ]);
  const result = b.runWebGPUProgram(backpropProgram(info), [dy, positions], input.dtype, [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.effectiveFilterHeight - 1 - info.padInfo.top, info.effectiveFilterWidth - 1 - info.padInfo.left] },
    { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
    { type: 'int32', data: [info.effectiveFilterHeight, info.effectiveFilterWidth] },
    { type: 'int32', data: [info.outHeight] },
    { type: 'int32', data: [info.outWidth] },
  ]);
  b.disposeData(positions.dataId);
  return result;
}

export const webgpuMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'webgpu',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
