/**
 * The control API's bounds, in a module of their own so the CLI can check a request against them
 * before it loads the client (and ZeroMQ).
 */

/** Largest request served (bytes); larger ones get an error. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** ZeroMQ disconnects a peer sending a message over this (bytes): it is never received. */
export const HARD_REQUEST_BYTES = 1024 * 1024;
/** Longest a request may hold the socket, and the largest `timeoutMs` (a trace's wait) accepted. */
export const MAX_REQUEST_MS = 60_000;
/** Most packets one agent trace request follows. */
export const MAX_TRACE_COUNT = 100;
