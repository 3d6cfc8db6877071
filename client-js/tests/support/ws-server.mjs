// A minimal WebSocket server side (RFC 6455) for the mock server: handshake,
// text frames (fragmented or not), ping/pong, close. Enough for JSON signalling;
// no extensions, no binary messages.

import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 1024 * 1024;

/**
 * @typedef {object} MockSocket
 * @property {(text: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {boolean} closed
 */

/**
 * Complete a WebSocket upgrade on `socket` and return a small socket object.
 *
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:net').Socket} socket
 * @param {{onText: (text: string) => void, onBinary?: () => void, onClose: (code: number) => void}} handlers
 * @returns {MockSocket|null} null when the request is not a valid upgrade (answered 400).
 */
export function acceptWebSocket(req, socket, { onText, onBinary = () => {}, onClose }) {
  const key = req.headers['sec-websocket-key'];
  if (!key || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return null;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.setNoDelay(true);

  let buffer = Buffer.alloc(0);
  let fragments = [];
  let fragmentOpcode = 0;
  let closeNotified = false;
  const ws = { closed: false, send, close };

  function frame(opcode, payload) {
    const len = payload.length;
    let header;
    if (len < 126) {
      header = Buffer.from([0x80 | opcode, len]);
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    return Buffer.concat([header, payload]);
  }

  function send(text) {
    if (ws.closed || socket.destroyed) return;
    socket.write(frame(0x1, Buffer.from(String(text), 'utf8')));
  }

  function close(code = 1000, reason = '') {
    if (ws.closed) return;
    ws.closed = true;
    if (!socket.destroyed) {
      const body = Buffer.alloc(2 + Buffer.byteLength(reason));
      body.writeUInt16BE(code, 0);
      body.write(reason, 2);
      socket.write(frame(0x8, body));
      socket.end();
    }
    notifyClose(code);
  }

  function notifyClose(code) {
    if (closeNotified) return;
    closeNotified = true;
    onClose(code);
  }

  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const fin = (buffer[0] & 0x80) !== 0;
      const opcode = buffer[0] & 0x0f;
      const masked = (buffer[1] & 0x80) !== 0;
      let len = buffer[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (len > MAX_MESSAGE) {
        close(1009, 'message too big');
        socket.destroy();
        return;
      }
      const maskLen = masked ? 4 : 0;
      if (buffer.length < offset + maskLen + len) return;
      const mask = masked ? buffer.subarray(offset, offset + 4) : null;
      const payload = Buffer.from(buffer.subarray(offset + maskLen, offset + maskLen + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buffer = buffer.subarray(offset + maskLen + len);

      if (opcode === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!ws.closed) {
          ws.closed = true;
          if (!socket.destroyed) {
            socket.write(frame(0x8, payload.subarray(0, 2)));
            socket.end();
          }
        }
        notifyClose(code);
        return;
      }
      if (opcode === 0x9) {
        if (!ws.closed) socket.write(frame(0xa, payload));
        continue;
      }
      if (opcode === 0xa) continue;
      if (opcode === 0x1 || opcode === 0x2) {
        fragmentOpcode = opcode;
        fragments = [payload];
      } else if (opcode === 0x0) {
        fragments.push(payload);
      } else {
        continue;
      }
      if (!fin) continue;
      const message = Buffer.concat(fragments);
      fragments = [];
      if (ws.closed) continue;
      if (fragmentOpcode === 0x1) onText(message.toString('utf8'));
      else onBinary();
    }
  });
  socket.on('close', () => {
    ws.closed = true;
    notifyClose(1006);
  });
  socket.on('error', () => {});
  return ws;
}
