// The client is compiled with the rest of Ferry into dist/ (npm run build).
export * from '../../dist/packages/client/src/index.js';
