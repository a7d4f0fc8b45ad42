// The agent's route cache on disk, shared by the agent (writes, loads at start) and the SDK (reads
// when the agent does not answer): docs/agent.md, "The route cache on disk".
export * from './route-cache-file.js';
export * from './route-cache-reader.js';
export * from './route-cache-writer.js';
