/** What `prunebench export` writes, apart from the exporters (which load TensorFlow.js), for its usage text. */
export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The ONNX opset the exporter writes (see onnx.ts). */
export const ONNX_OPSET = 17;
