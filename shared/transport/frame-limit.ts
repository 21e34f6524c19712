/**
 * Largest single ZeroMQ frame a Ferry socket that peers connect to accepts, in bytes: ZeroMQ
 * drops the connection of a peer that sends a bigger one before any of it is buffered whole.
 * Far above any real message (a bundle travels in parts of a few MiB; params are at most the
 * api's 8 MiB JSON body; a call's outcome is capped by the node's output cap).
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
