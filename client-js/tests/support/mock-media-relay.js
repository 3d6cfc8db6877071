// Browser side of the mock server's media relay (see mock-media.mjs): a page in a
// headless Chromium that plays the SFU's part with RTCPeerConnections. It is not an
// SFU: it takes the broadcaster's tracks and re-sends them to every viewer (the
// browser re-encodes them), answers without simulcast (so the broadcaster sends its
// first layer only), and puts its candidates in the SDP instead of trickling them,
// like the ICE-lite server does. Test scaffolding only.
//
// Node → page: relay.fromClient(sid, streamId, msg), relay.closeSession(sid, reason)
// page → Node: __relayOut(sid, msg), __relayClose(sid, reason), __relayState(streamId, state)

(() => {
  const sessions = new Map(); // sid -> {role, streamId, pc}
  const streams = new Map(); // streamId -> {publisher, tracks, viewers:Set}

  const out = (sid, msg) => window.__relayOut(sid, msg);
  const closeClient = (sid, reason) => window.__relayClose(sid, reason);

  function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== 'complete') return;
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      };
      pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, 3000);
    });
  }

  function preferVp8(transceiver) {
    const caps = RTCRtpReceiver.getCapabilities('video');
    if (!caps) return;
    const vp8 = caps.codecs.filter((c) => c.mimeType === 'video/VP8');
    try {
      transceiver.setCodecPreferences([...vp8, ...caps.codecs.filter((c) => c.mimeType !== 'video/VP8')]);
    } catch {
      // keep the default order
    }
  }

  function sendViewers(st) {
    if (st.publisher) out(st.publisher, { type: 'viewers', count: st.viewers.size });
  }

  async function publish(sid, streamId, msg) {
    let st = streams.get(streamId);
    if (st && st.publisher) {
      out(sid, { type: 'error', code: 'conflict', message: 'this stream already has a broadcaster' });
      closeClient(sid, 'conflict');
      return;
    }
    st = { publisher: sid, tracks: [], viewers: new Set() };
    streams.set(streamId, st);
    const pc = new RTCPeerConnection();
    sessions.set(sid, { role: 'publish', streamId, pc });
    pc.addEventListener('track', (e) => st.tracks.push(e.track));
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') window.__relayState(streamId, 'live');
      if (pc.connectionState === 'failed') endSession(sid, 'the broadcaster connection failed');
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    out(sid, { type: 'answer', sdp: pc.localDescription.sdp });
    sendViewers(st);
  }

  async function join(sid, streamId) {
    const st = streams.get(streamId);
    if (!st || st.tracks.length === 0) {
      out(sid, { type: 'error', code: 'not_found', message: 'this stream is not live' });
      closeClient(sid, 'not live');
      return;
    }
    const pc = new RTCPeerConnection();
    sessions.set(sid, { role: 'view', streamId, pc });
    const media = new MediaStream(st.tracks);
    for (const track of st.tracks) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') preferVp8(t);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    out(sid, { type: 'offer', sdp: pc.localDescription.sdp });
    st.viewers.add(sid);
    sendViewers(st);
  }

  async function answer(sid, msg) {
    const s = sessions.get(sid);
    if (!s) return;
    await s.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
    // Keep the broadcaster's resolution: the test compares frame sizes.
    for (const sender of s.pc.getSenders()) {
      if (!sender.track || sender.track.kind !== 'video') continue;
      const params = sender.getParameters();
      params.degradationPreference = 'maintain-resolution';
      await sender.setParameters(params).catch(() => {});
    }
  }

  async function candidate(sid, msg) {
    const s = sessions.get(sid);
    if (!s || !msg.candidate) return;
    const init = { candidate: msg.candidate };
    if (typeof msg.sdp_mid === 'string') init.sdpMid = msg.sdp_mid;
    if (Number.isInteger(msg.sdp_mline_index)) init.sdpMLineIndex = msg.sdp_mline_index;
    await s.pc.addIceCandidate(init).catch((e) => console.warn('relay: bad candidate', e.message));
  }

  function endSession(sid, reason) {
    const s = sessions.get(sid);
    if (!s) return;
    sessions.delete(sid);
    s.pc.close();
    const st = streams.get(s.streamId);
    if (!st) return;
    if (s.role === 'publish' && st.publisher === sid) {
      streams.delete(s.streamId);
      window.__relayState(s.streamId, 'ended');
      for (const viewer of st.viewers) {
        out(viewer, { type: 'ended', reason: 'the broadcaster left' });
        const v = sessions.get(viewer);
        sessions.delete(viewer);
        if (v) v.pc.close();
        closeClient(viewer, 'ended');
      }
    } else if (st.viewers.delete(sid)) {
      sendViewers(st);
    }
    void reason;
  }

  window.relay = {
    async fromClient(sid, streamId, msg) {
      switch (msg.type) {
        case 'publish':
          return publish(sid, streamId, msg);
        case 'join':
          return join(sid, streamId);
        case 'answer':
          return answer(sid, msg);
        case 'candidate':
          return candidate(sid, msg);
        case 'bye':
          return endSession(sid, msg.reason);
        default:
          out(sid, { type: 'error', code: 'malformed_message', message: `unexpected "${msg.type}"` });
      }
    },
    closeSession(sid, reason) {
      endSession(sid, reason);
    },
  };
})();
