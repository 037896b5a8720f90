export * from './model';
export * from './builder';
export * from '../errors';
export * from './markdown';
export * from './summary';
