export * from './step';
export * from './engine';
