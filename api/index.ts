export * from './common.ts';
export * from './model-load.ts';
export * from './modeldeployment.ts';
export * from './sweep.ts';
export * from './training.ts';
export * from './trainingjob.ts';
