export * from './platform';
export * from './inputs';
export * from './errors';
export * from './logger';
export * from './task';
export { MemoryPlatform, type MemoryEndpoint, type MemoryPlatformOptions } from './memory-platform';
export { UserError } from '../errors';
