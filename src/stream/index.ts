export { StreamHub, StreamRefused, type StreamHubOptions, type StreamHubStats, type StreamObserver, type StreamSettings, type DisconnectReason } from './stream-hub';
export { streamRoutes, STREAM_PATH } from './route';
export { wantsHtml } from './negotiate';
export { parseStreamQuery, filterMatches, type StreamFilter } from './filter';
export { jsonNumber, type EventKind } from './encode';
