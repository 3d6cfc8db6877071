// In-process fakes of WebSocket, RTCPeerConnection, media tracks and a <video>
// element, for unit-testing live.js under Node. They record what the SDK does and
// let a test play the server's part; they implement only what live.js uses.

class Emitter {
  constructor() {
    this.listeners = new Map();
  }

  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  removeEventListener(type, fn) {
    const list = this.listeners.get(type) || [];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  emit(type, event = {}) {
    for (const fn of [...(this.listeners.get(type) || [])]) fn({ type, ...event });
  }
}

/** A WebSocket whose server side is driven by the test. */
export class FakeWebSocket extends Emitter {
  /** @type {FakeWebSocket[]} */
  static instances = [];

  static reset() {
    FakeWebSocket.instances = [];
  }

  /** The most recently created socket. */
  static get last() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    /** @type {string[]} raw frames sent by the client */
    this.sent = [];
    this.closeCalls = [];
    FakeWebSocket.instances.push(this);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('InvalidStateError: not open');
    this.sent.push(data);
  }

  close(code, reason) {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    this.readyState = 3;
    setImmediate(() => this.emit('close', { code: code ?? 1005, reason: reason ?? '' }));
  }

  /** Sent frames, parsed. */
  get frames() {
    return this.sent.map((f) => JSON.parse(f));
  }

  // ---- server side ----

  open() {
    this.readyState = 1;
    this.emit('open');
  }

  /** Deliver a frame (objects are serialised; strings and others go as they are). */
  receive(data) {
    this.emit('message', { data: typeof data === 'object' && !(data instanceof ArrayBuffer) ? JSON.stringify(data) : data });
  }

  serverClose(code = 1000, reason = '') {
    this.readyState = 3;
    this.emit('close', { code, reason });
  }
}

/** Capabilities with VP8 not first, like a browser that prefers another codec. */
export const FAKE_VIDEO_CAPS = {
  codecs: [
    { mimeType: 'video/VP9', clockRate: 90000 },
    { mimeType: 'video/rtx', clockRate: 90000 },
    { mimeType: 'video/VP8', clockRate: 90000 },
    { mimeType: 'video/H264', clockRate: 90000 },
  ],
};

export class FakeRTCRtpReceiver {
  static getCapabilities(kind) {
    return kind === 'video' ? FAKE_VIDEO_CAPS : { codecs: [{ mimeType: 'audio/opus', clockRate: 48000 }] };
  }
}

/** An RTCPeerConnection that records calls; SDP is whatever the test says. */
export class FakePeerConnection extends Emitter {
  /** @type {FakePeerConnection[]} */
  static instances = [];
  /** SDP returned by createOffer/createAnswer (tests may change it). */
  static offerSdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=fake offer\r\n';
  static answerSdp = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=fake answer\r\n';
  /** Tracks "received" when a remote offer is applied. */
  static remoteTracks = [];

  static reset() {
    FakePeerConnection.instances = [];
    FakePeerConnection.offerSdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=fake offer\r\n';
    FakePeerConnection.remoteTracks = [];
  }

  static get last() {
    return FakePeerConnection.instances[FakePeerConnection.instances.length - 1];
  }

  constructor(config) {
    super();
    this.config = config;
    this.transceivers = [];
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.addedCandidates = [];
    this.closed = false;
    FakePeerConnection.instances.push(this);
  }

  addTransceiver(track, init = {}) {
    const t = {
      track,
      init,
      direction: init.direction || 'sendrecv',
      codecPreferences: null,
      setCodecPreferences(codecs) {
        this.codecPreferences = codecs;
      },
    };
    this.transceivers.push(t);
    return t;
  }

  getTransceivers() {
    return this.transceivers;
  }

  async createOffer() {
    return { type: 'offer', sdp: FakePeerConnection.offerSdp };
  }

  async createAnswer() {
    return { type: 'answer', sdp: FakePeerConnection.answerSdp };
  }

  async setLocalDescription(desc) {
    this.localDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
  }

  async setRemoteDescription(desc) {
    if (desc.type === 'answer' && this.signalingState !== 'have-local-offer') throw new Error('InvalidStateError: no local offer');
    this.remoteDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
    if (desc.type === 'offer') {
      const stream = new FakeMediaStream([]);
      for (const track of FakePeerConnection.remoteTracks) {
        const t = this.addTransceiver(track, { direction: 'recvonly' });
        t.direction = 'sendonly'; // what the SDK must turn into recvonly
        stream.addTrack(track);
        this.emit('track', { track, streams: [stream], transceiver: t });
      }
    }
  }

  async addIceCandidate(candidate) {
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.addedCandidates.push(candidate);
  }

  close() {
    this.closed = true;
    this.connectionState = 'closed';
    this.signalingState = 'closed';
  }

  // ---- test side ----

  /** A local candidate (null: gathering complete). */
  gather(candidate) {
    this.emit('icecandidate', { candidate });
  }

  setConnectionState(state) {
    this.connectionState = state;
    this.emit('connectionstatechange');
  }
}

export class FakeTrack {
  constructor(kind, settings = {}) {
    this.kind = kind;
    this.settings = settings;
    this.readyState = 'live';
  }

  getSettings() {
    return this.settings;
  }

  stop() {
    this.readyState = 'ended';
  }
}

export class FakeMediaStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }

  getTracks() {
    return this.tracks;
  }

  addTrack(track) {
    this.tracks.push(track);
  }
}

/** Just enough of an HTMLVideoElement. */
export class FakeVideoElement extends Emitter {
  constructor() {
    super();
    this.srcObject = null;
    this.muted = false;
    this.autoplay = false;
    this.playsInline = false;
    this.attributes = {};
    this.playCalls = 0;
  }

  setAttribute(name, value) {
    this.attributes[name] = value;
  }

  play() {
    this.playCalls += 1;
    return Promise.resolve();
  }
}

/** Let queued promise jobs and immediates run. */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
