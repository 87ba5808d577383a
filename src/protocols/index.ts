export * from './config.ts';
export * from './cells.ts';
export * from './context.ts';
export * from './define.ts';
export * from './steps.ts';
export * from './estimate.ts';
export * from './shape.ts';
export * from './baseline-key.ts';
