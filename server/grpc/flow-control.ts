// HTTP/2 flow-control windows wide enough for the batcher to see a connection's concurrent calls.
// A gRPC client sends all its calls over one HTTP/2 connection, and HTTP/2 lets it send only as
// many bytes as the server's window (65,535 by default, for the connection and for each stream)
// before the server acknowledges them; the server acknowledges after it has read them, and it
// reads nothing while a batch computes. So a client with 64 one-image calls in flight could only
// ever deliver ~20 of them (3 KB each) per batch: the batcher formed batches of ~11 rows over gRPC
// against 26–28 from 64 REST connections, and spent more CPU per row. grpc-js sets these windows
// for its clients (grpc-node.flow_control_window) but not for its server, and does not expose the
// server's sessions; this reaches its HTTP/2 servers (a private field, checked: if a grpc-js
// upgrade renames it, the listener logs that the windows are the defaults and serves as before).
// Why and what it costs: docs/decisions/0039-wide-http2-windows-for-grpc-batching.md.
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** Bytes one call may have in flight toward the server (a 32-image FP32 request is ~100 KB). */
export const STREAM_WINDOW_BYTES = 1 << 20;
/** Bytes all calls of one connection may have in flight: 64 calls of 64 KB. */
export const CONNECTION_WINDOW_BYTES = 4 << 20;

function widen(session: ServerHttp2Session): void {
  session.settings({ initialWindowSize: STREAM_WINDOW_BYTES });
  session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
}

/**
 * Widens the windows of every connection the bound server accepts from now on. False when the
 * grpc-js internals it relies on are not there (the connections then keep HTTP/2's defaults).
 */
export function widenFlowControl(server: Server): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2 of servers.keys() as Iterable<Http2Server>) {
    if (typeof http2?.on !== 'function') return false;
    http2.on('session', widen);
  }
  return servers.size > 0;
}
