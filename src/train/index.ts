export * from './schedule.ts';
export * from './sgd.ts';
export * from './checkpoint.ts';
export * from './loop.ts';
