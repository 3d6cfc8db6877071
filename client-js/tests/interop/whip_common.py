"""Shared helpers for the aiortc WHIP/WHEP interop scripts (standard library + aiortc).

- `emit(...)` prints one JSON object per line on stdout (flushed), for the Node test.
- `post_offer(...)` / `delete_resource(...)` speak WHIP/WHEP over HTTP with timeouts.
- `exchange(...)` runs the whole no-trickle offer/answer: aiortc's setLocalDescription
  returns once ICE gathering is complete, so the offer carries every candidate (the
  MyVid server is ICE-lite and does not take trickled candidates).
- `run_main(...)` runs a coroutine with SIGTERM/SIGINT cancelling it, so the scripts'
  `finally` blocks (DELETE the resource, close the peer connection) run when killed.
"""

import asyncio
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urljoin

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

HTTP_TIMEOUT = 10.0
T0 = time.monotonic()


def emit(event, **fields):
    """One JSON line on stdout: {"event": ..., "t": seconds since start, ...}."""
    print(json.dumps({"event": event, "t": round(time.monotonic() - T0, 3), **fields}), flush=True)


class Failure(Exception):
    """A failure with a message meant for people (printed, exit status 1)."""


def new_peer_connection():
    # No STUN server: aiortc would otherwise try Google's, which only delays gathering
    # (host candidates are what the server and this script share).
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def _post_sync(url, sdp, token):
    headers = {"Content-Type": "application/sdp", "Accept": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=sdp.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as res:
            status = res.status
            location = res.headers.get("Location")
            body = res.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        body = err.read().decode("utf-8", "replace")[:2000]
        raise Failure(f"POST {url} answered {err.code}: {body}") from None
    except (urllib.error.URLError, OSError) as err:
        raise Failure(f"POST {url} failed: {err}") from None
    if status != 201:
        raise Failure(f"POST {url} answered {status} instead of 201: {body[:2000]}")
    if not location:
        raise Failure(f"POST {url} answered 201 without a Location header")
    if not body.startswith("v=0"):
        raise Failure(f"POST {url} answered 201 but the body is not an SDP answer: {body[:500]!r}")
    return urljoin(url, location), body


def _delete_sync(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers, method="DELETE")
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as res:
            return res.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError) as err:
        return f"error: {err}"


async def exchange(pc, url, token=None, timeout=20.0):
    """Create the offer (all candidates gathered), POST it, apply the answer.

    Returns the resource URL (the Location, made absolute)."""
    async def run():
        await pc.setLocalDescription(await pc.createOffer())
        location, answer = await asyncio.to_thread(_post_sync, url, pc.localDescription.sdp, token)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        return location, answer

    try:
        location, answer = await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise Failure(f"the offer/answer with {url} did not finish within {timeout:g} s") from None
    candidates = [line[2:] for line in answer.splitlines() if line.startswith("a=candidate:")]
    emit("answered", location=location, server_candidates=candidates)
    return location


def video_codec(sdp):
    """The first codec of the first m=video section of `sdp` (e.g. "VP8/90000"), or None."""
    in_video, first_pt = False, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            if first_pt is not None:
                break
            parts = line.split()
            in_video = line.startswith("m=video") and len(parts) > 3
            if in_video:
                first_pt = parts[3]
        elif in_video and line.startswith(f"a=rtpmap:{first_pt} "):
            return line.split(" ", 1)[1]
    return None


async def delete_resource(location, token=None):
    """DELETE the WHIP/WHEP resource (best effort, bounded by HTTP_TIMEOUT)."""
    if not location:
        return
    try:
        status = await asyncio.wait_for(asyncio.to_thread(_delete_sync, location, token), HTTP_TIMEOUT + 2)
    except asyncio.TimeoutError:
        status = "timeout"
    emit("deleted", location=location, status=status)


async def wait_connected(pc, timeout):
    """Wait until the peer connection is `connected`; Failure on failed/closed/timeout."""
    done = asyncio.get_running_loop().create_future()

    def check():
        state = pc.connectionState
        if done.done():
            return
        if state == "connected":
            done.set_result(None)
        elif state in ("failed", "closed"):
            done.set_exception(Failure(f"the peer connection went to {state!r}"))

    pc.on("connectionstatechange", check)
    check()
    try:
        await asyncio.wait_for(done, timeout)
    except asyncio.TimeoutError:
        raise Failure(
            f"not connected within {timeout:g} s (connection {pc.connectionState}, ICE {pc.iceConnectionState})"
        ) from None
    emit("state", state="connected")


def run_main(coro_fn):
    """Run `coro_fn()`; SIGTERM/SIGINT cancel it (its finally blocks run). Exit status:
    0 when it returns True, 1 on Failure or False, 130/143 when interrupted."""
    async def wrapper():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        got = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda s=sig: (got.append(s), task.cancel()))
        try:
            return await coro_fn()
        except asyncio.CancelledError:
            emit("interrupted", signal=got[0].name if got else None)
            return 128 + (got[0] if got else signal.SIGTERM)

    try:
        result = asyncio.run(wrapper())
    except Failure as err:
        emit("failed", error=str(err))
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    if result is True:
        sys.exit(0)
    sys.exit(result if isinstance(result, int) and result > 1 else 1)
