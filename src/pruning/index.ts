export * from './groups.ts';
export * from './plan.ts';
export * from './surgery.ts';
export * from './criteria.ts';
export * from './profiles.ts';
export * from './methods.ts';
export * from './summary.ts';
