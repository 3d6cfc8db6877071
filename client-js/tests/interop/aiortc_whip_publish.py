#!/usr/bin/env python3
"""Publish a synthetic moving test pattern through WHIP with aiortc.

    python3 aiortc_whip_publish.py WHIP_URL TOKEN [--seconds 20] [--width 640 --height 360]
                                   [--codec vp8|h264]

Sends WIDTHxHEIGHT video at 30 fps (VP8 unless --codec h264: then only H.264 is offered)
to WHIP_URL with
`Authorization: Bearer TOKEN`: the offer carries every candidate (no trickle), the
answer must come back as `201` with a `Location`. Prints JSON lines on stdout
("answered", "state" connected, "progress" once a second with the frames sent, "done"),
DELETEs the resource at the end (also when killed with SIGTERM/SIGINT) and exits 0;
on any failure it prints {"event":"failed","error":...} and exits 1.
"""

import argparse
import asyncio
from fractions import Fraction

from av import VideoFrame
from aiortc import RTCRtpSender, VideoStreamTrack

from whip_common import (Failure, delete_resource, emit, exchange, new_peer_connection, run_main, video_codec,
                         wait_connected)


class TestPattern(VideoStreamTrack):
    """Moving vertical luma bars and a sliding coloured band, 30 fps (VideoStreamTrack's
    clock). Built from byte slices so it stays cheap in pure Python."""

    def __init__(self, width, height):
        super().__init__()
        self.width, self.height = width, height
        self.frames = 0
        period = 64
        ramp = bytes(16 + (219 * i) // (period - 1) for i in range(period))
        self._luma = ramp * ((2 * width) // period + 2)  # sliced at a moving offset
        self._cw, self._ch = width // 2, height // 2

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        n = self.frames
        self.frames += 1
        w, h, cw, ch = self.width, self.height, self._cw, self._ch
        off = (n * 4) % 64
        row = self._luma[off:off + w]
        frame = VideoFrame(w, h, "yuv420p")
        y, u, v = frame.planes
        y.update(_plane(row, h, y.line_size))
        # A band that slides down over the chroma planes, so the picture really moves.
        band_top = (n * 2) % ch
        u_rows = [bytes([90]) * cw if band_top <= r < band_top + ch // 6 else bytes([128]) * cw for r in range(ch)]
        v_rows = [bytes([200]) * cw if band_top <= r < band_top + ch // 6 else bytes([128]) * cw for r in range(ch)]
        u.update(_rows(u_rows, u.line_size))
        v.update(_rows(v_rows, v.line_size))
        frame.pts, frame.time_base = pts, time_base
        return frame


def _plane(row, rows, line_size):
    return (row + bytes(line_size - len(row))) * rows


def _rows(rows, line_size):
    return b"".join(r + bytes(line_size - len(r)) for r in rows)


async def outbound_stats(pc):
    out = {}
    for s in (await pc.getStats()).values():
        if s.type == "outbound-rtp" and getattr(s, "kind", None) == "video":
            out = {"packets_sent": s.packetsSent, "bytes_sent": s.bytesSent}
    return out


async def main(args):
    pc = new_peer_connection()
    track = TestPattern(args.width, args.height)
    location = None
    try:
        transceiver = pc.addTransceiver(track, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        wanted = [c for c in codecs if c.mimeType.lower() == f"video/{args.codec}"]
        if args.codec == "h264":
            # Only H.264 (and its retransmissions): the server must take it or refuse.
            rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx"]
            transceiver.setCodecPreferences(wanted + rtx)
        else:
            transceiver.setCodecPreferences(wanted + [c for c in codecs if c not in wanted])
        location = await exchange(pc, args.url, args.token, timeout=args.connect_timeout)
        await wait_connected(pc, args.connect_timeout)
        emit("publishing", width=args.width, height=args.height, fps=30,
             codec=video_codec(pc.remoteDescription.sdp))
        loop = asyncio.get_running_loop()
        end = loop.time() + args.seconds
        while loop.time() < end:
            await asyncio.sleep(min(1.0, max(0.0, end - loop.time())))
            if pc.connectionState != "connected":
                raise Failure(f"the peer connection went to {pc.connectionState!r} while publishing")
            emit("progress", frames_sent=track.frames, **await outbound_stats(pc))
        emit("done", frames_sent=track.frames, **await outbound_stats(pc))
        return True
    finally:
        await delete_resource(location, args.token)
        await pc.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", help="the WHIP URL (whip_url from NEWSTREAM)")
    p.add_argument("token", help="the stream's publish token (token from NEWSTREAM)")
    p.add_argument("--seconds", type=float, default=20.0, help="how long to publish once connected (default 20)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--codec", choices=["vp8", "h264"], default="vp8", help="the video codec to send (default vp8)")
    p.add_argument("--connect-timeout", type=float, default=20.0, help="offer/answer and ICE+DTLS limit (s)")
    args = p.parse_args()
    if args.width % 2 or args.height % 2 or args.width < 16 or args.height < 16:
        p.error("--width and --height must be even and at least 16")
    run_main(lambda: main(args))
