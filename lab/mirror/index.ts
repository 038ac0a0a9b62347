/** The lab mirror's public API, for tests, benchmarks and the rest of the lab. */
export {
  type BuildOptions,
  buildMirrorTree,
  type ExecutableProducer,
  placeholderExecutable,
  readTreeManifest,
  type TreeFile,
  type TreeManifest,
  trustedDigestsPath,
  trustedDigestsText,
} from './build.js';
export { mirrorCommand, runningMirror } from './cli.js';
export { type Fault, type FaultInput, type FaultState, parseFaults } from './faults.js';
export {
  type ControlPlanePins,
  labImages,
  MEDIA,
  mirrorRepository,
  type PushedImage,
  type PushOptions,
  pushImages,
} from './images.js';
export * from './layout.js';
export { type Registry, type RegistryOptions, startRegistry } from './registry.js';
export {
  type AccessLogEntry,
  type Mirror,
  type MirrorOptions,
  readAccessLog,
  startMirror,
} from './server.js';
export type { MirrorState, RegistryState } from './state.js';
export { ensureTlsFiles, type TlsFiles } from './tls.js';
