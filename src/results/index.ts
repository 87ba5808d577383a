export * from './columns.ts';
export * from './read.ts';
export * from './write.ts';
export * from './retimed.ts';
