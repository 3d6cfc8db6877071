#!/usr/bin/env python3
"""Watch a live stream through WHEP with aiortc and count the decoded video frames.

    python3 aiortc_whep_view.py WHEP_URL [--min-frames 30] [--timeout 30]

Offers recvonly video (and audio, which is drained and counted), POSTs the offer with
every candidate in it (no trickle, no auth), applies the `201` answer, then decodes
frames until --min-frames video frames have arrived or --timeout seconds have passed
since the start. Prints JSON lines on stdout, the last one being
{"event":"result","frames":N,"width":W,"height":H,"sizes":{"WxH":count},...},
DELETEs the resource (also when killed with SIGTERM/SIGINT) and exits 0 only if at
least --min-frames video frames were decoded in time; 1 otherwise.
"""

import argparse
import asyncio
import time

from whip_common import Failure, delete_resource, emit, exchange, new_peer_connection, run_main, video_codec, wait_connected


async def main(args):
    start = time.monotonic()
    deadline = start + args.timeout
    pc = new_peer_connection()
    stats = {"frames": 0, "width": 0, "height": 0, "sizes": {}, "audio_frames": 0, "first_frame_s": None}
    enough = asyncio.get_running_loop().create_future()
    readers = []
    location = None

    async def read_video(track):
        while True:
            frame = await track.recv()
            stats["frames"] += 1
            if stats["first_frame_s"] is None:
                stats["first_frame_s"] = round(time.monotonic() - start, 3)
                emit("first_frame", width=frame.width, height=frame.height, t_from_start=stats["first_frame_s"])
            stats["width"], stats["height"] = frame.width, frame.height
            key = f"{frame.width}x{frame.height}"
            stats["sizes"][key] = stats["sizes"].get(key, 0) + 1
            if stats["frames"] >= args.min_frames and not enough.done():
                enough.set_result(None)

    async def read_audio(track):
        while True:
            await track.recv()
            stats["audio_frames"] += 1

    @pc.on("track")
    def on_track(track):
        emit("track", kind=track.kind)
        readers.append(asyncio.ensure_future(read_video(track) if track.kind == "video" else read_audio(track)))

    def remaining():
        return max(0.1, deadline - time.monotonic())

    def result(ok, error=None):
        fields = dict(stats, ok=ok, min_frames=args.min_frames, elapsed_s=round(time.monotonic() - start, 3))
        if error:
            fields["error"] = error
        emit("result", **fields)

    try:
        pc.addTransceiver("video", direction="recvonly")
        if not args.no_audio:
            pc.addTransceiver("audio", direction="recvonly")
        try:
            location = await exchange(pc, args.url, None, timeout=remaining())
            emit("negotiated", codec=video_codec(pc.remoteDescription.sdp))
            await wait_connected(pc, remaining())
            progress = asyncio.ensure_future(report_progress(stats))
            try:
                await asyncio.wait_for(asyncio.shield(enough), remaining())
            except asyncio.TimeoutError:
                raise Failure(
                    f"only {stats['frames']} video frames decoded within {args.timeout:g} s "
                    f"(wanted {args.min_frames}; connection {pc.connectionState})"
                ) from None
            finally:
                progress.cancel()
        except Failure as err:
            result(False, str(err))
            raise
        for task in readers:
            if task.done() and task.exception():
                raise Failure(f"reading a track failed: {task.exception()!r}")
        result(True)
        return True
    finally:
        for task in readers:
            task.cancel()
        await delete_resource(location)
        await pc.close()


async def report_progress(stats):
    while True:
        await asyncio.sleep(1.0)
        emit("progress", frames=stats["frames"], width=stats["width"], height=stats["height"],
             audio_frames=stats["audio_frames"])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url", help="the WHEP URL (whep_url from NEWSTREAM or the video object)")
    p.add_argument("--min-frames", type=int, default=30, help="video frames to decode for success (default 30)")
    p.add_argument("--timeout", type=float, default=30.0, help="overall limit in seconds (default 30)")
    p.add_argument("--no-audio", action="store_true", help="offer video only")
    args = p.parse_args()
    if args.min_frames < 1 or args.timeout <= 0:
        p.error("--min-frames must be ≥ 1 and --timeout > 0")
    run_main(lambda: main(args))
