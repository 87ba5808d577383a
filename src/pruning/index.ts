export * from './groups.ts';
export * from './plan.ts';
export * from './surgery.ts';
