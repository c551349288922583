/** The plugin wire protocol: typed messages and the line codec shared by the local and debug runtimes. */
export * from "./messages.js";
export * from "./line-codec.js";
