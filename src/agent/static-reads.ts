/**
 * Reading a socket a server accepted without Node's Readable stream: the bytes of each read land in
 * one buffer allocated once, and go straight to a callback (net's `onread` option), with no Buffer
 * made per read by libuv's allocator, no Readable `push`, no 'data' event. The agent's OpenFlow
 * channel uses it: a first packet's packet-in meets less code and memory between the socket read and
 * the answer's write (docs/first-packet-tail.md).
 *
 * Node offers `onread` only to sockets it creates for `connect`, not to those a server accepts; here
 * the accepted socket's handle (the server must be created with `pauseOnConnect`, so no byte has been
 * read into the stream) is taken over by a new Socket that has the option. The accepted socket is
 * left unused: its handle is the new socket's, which writes, ends and closes as any socket does.
 *
 * Invariants: the callback gets the bytes of one read as a view of the reused buffer, valid only
 * during the call (a caller that keeps bytes past it copies them); reads come in stream order; the new
 * socket emits 'end', 'close' and 'error' as a socket reading its stream does.
 */
import { Socket } from 'node:net';

/** Bytes one read may bring (libuv asks for 64 KiB per read of a stream). */
const READ_SIZE = 64 * 1024;

/** The part of an accepted socket this module takes over (net's own, not in its typings). */
interface Accepted {
  readonly _handle?: unknown;
  readonly readableFlowing: boolean | null;
}

/**
 * A socket on the connection `paused` holds (accepted by a server created with `pauseOnConnect:
 * true`, nothing read yet), reading each chunk into one static buffer and handing it to `onBytes`.
 */
export function readsWithoutStream(paused: Socket, onBytes: (bytes: Buffer) => void): Socket {
  const a = paused as unknown as Accepted;
  if (a._handle == null || a.readableFlowing !== false)
    throw new Error('readsWithoutStream: the socket must be accepted with pauseOnConnect and unread');
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  const options = {
    handle: a._handle,
    allowHalfOpen: false,
    readable: true,
    writable: true,
    onread: {
      buffer,
      callback: (n: number): boolean => {
        onBytes(buffer.subarray(0, n));
        return true;
      },
    },
  };
  // `handle` is net's own option (how a server makes its sockets); the typings list only `fd`, and
  // take the object as it is because it is not a literal.
  return new Socket(options);
}
