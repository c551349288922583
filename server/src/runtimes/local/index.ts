/** The local (subprocess) runtime: environment setup, supervision, sessions over stdio. */
export {
  type CreateLocalRuntimeOptions,
  LocalPluginRuntime,
  createLocalRuntime,
  startLocalRuntime,
} from "./local-runtime.js";
export {
  type PreparedEnvironment,
  PythonEnvironmentError,
  prepareEnvironment,
  removeEnvironment,
  workingDirectoryOf,
} from "./environment.js";
export { type EnvironmentOptions, LOCAL_DEFAULTS, type LocalRuntimeOptions } from "./options.js";
export { livePluginPids } from "./instance.js";
