// Trace model of the runtime hook's event stream: plain data, no I/O.
export * from './wire';
export * from './model';
export * from './report';
export * from './tracefile';
export { DurationHistogram } from './hist';
