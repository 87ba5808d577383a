export * from './count.ts';
export * from './speed.ts';
export * from './budget.ts';
export * from './bench.ts';
