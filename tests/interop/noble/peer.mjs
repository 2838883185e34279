#!/usr/bin/env node
// An independent QuantumCoin peer, written from docs/protocol.md only, that speaks to a real
// qtcnode over TCP: the hybrid Noise handshake (or the classical one, to be refused), the
// QuantumProof (ML-DSA-65), version/verack, then `getheaders` from genesis, checking what comes
// back (linkage, the genesis hash, proof of work against each header's bits, median time past).
//
//   node peer.mjs --role initiator --port P [--host 127.0.0.1] [options]
//   node peer.mjs --role responder [--listen-port N] [options]   (listens on 127.0.0.1:N, default
//                                              0, prints "NODE_ID <hex>" and "PORT <n>", accepts
//                                              one connection)
// Options: --magic 5154434d, --genesis HEX (displayed order; default regtest's), --pow-limit HEX
//   (64 hex, big endian; default regtest's),
//   --expect-headers N, --pin NODEID, --seed HEX (deterministic keys), --classical (mode 00),
//   --bad-proof role|binds (a proof the node must refuse), --rekey-messages N, --rekey-bytes N
//   (the limits we announce), --deterministic (ML-DSA rnd = 0; default hedged), --timeout S,
//   --linger S (stay connected S seconds after the headers, answering), --verbose (progress on
//   stderr).
// Output: one JSON line, {"ok":true,...} and exit 0, or {"ok":false,"error":...} and exit 1.

import net from 'node:net';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import * as p2p from './p2p.mjs';
import { SocketStream, SecureChannel, PeerError, initiatorHandshake, responderHandshake, encodeHandshakePayload, MODE_CLASSICAL, MODE_HYBRID } from './transport.mjs';

const { bytesToHex, hexToBytes, concatBytes } = p2p;
const ROLE = { initiator: 0, responder: 1 };

function parseArgs(argv) {
  const o = { role: 'initiator', host: '127.0.0.1', port: 0, magic: '5154434d', genesis: p2p.REGTEST_GENESIS_DISPLAY, timeout: 30, rekeyMessages: 10000, rekeyBytes: String(1 << 30) };
  const flags = new Set(['classical', 'deterministic', 'verbose']);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    if (flags.has(key)) o[key] = true;
    else if (i + 1 < argv.length) o[key] = argv[++i];
    else throw new Error(`${argv[i]} needs a value`);
  }
  if (!(o.role in ROLE)) throw new Error(`--role must be initiator or responder, not ${o.role}`);
  if (o.role === 'initiator' && !Number(o.port)) throw new Error('--port is required for the initiator');
  if (o.badProof && !['role', 'binds'].includes(o.badProof)) throw new Error('--bad-proof must be role or binds');
  o.magicBytes = hexToBytes(o.magic);
  o.genesisHash = p2p.fromDisplayHex(o.genesis);
  o.mode = o.classical ? MODE_CLASSICAL : MODE_HYBRID;
  o.powLimitValue = o.powLimit ? BigInt(`0x${o.powLimit}`) : p2p.REGTEST_POW_LIMIT;
  return o;
}

const t0 = Date.now();
const log = (o, ...a) => o.verbose && console.error(`[peer +${Date.now() - t0} ms]`, ...a);

/** Static X25519 key and ML-DSA-65 key: fresh randomness, or derived from --seed. */
function makeIdentity(o) {
  const seed = o.seed ? hexToBytes(o.seed) : null;
  const derive = (tag) => (seed ? sha256(concatBytes(Uint8Array.of(tag), seed)) : randomBytes(32));
  const staticPriv = derive(0);
  const dsa = ml_dsa65.keygen(derive(1));
  const staticPub = x25519.getPublicKey(staticPriv);
  return { staticPriv, staticPub, dsa, nodeId: p2p.nodeId(staticPub, dsa.publicKey) };
}

/** The TCP connection: dialled (initiator) or the first one accepted (responder). */
function openSocket(o) {
  if (o.role === 'initiator') {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: o.host, port: Number(o.port) }, () => resolve(sock));
      sock.once('error', reject);
    });
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: false }, (sock) => {
      server.close();
      resolve(sock);
    });
    server.once('error', reject);
    server.listen(Number(o.listenPort ?? 0), '127.0.0.1', () => console.log(`PORT ${server.address().port}`));
  });
}

/** Frames inside the secure channel. */
class P2PSession {
  constructor(channel, o) {
    this.channel = channel;
    this.o = o;
    this.parser = new p2p.FrameParser(o.magicBytes);
    this.received = [];
    this.pongs = 0;
  }
  send(command, payload) {
    log(this.o, `-> ${command} (${payload?.length ?? 0} bytes)`);
    this.channel.write(p2p.encodeFrame(this.o.magicBytes, command, payload));
  }
  async next() {
    for (;;) {
      const frame = this.parser.next();
      if (frame) {
        log(this.o, `<- ${frame.command} (${frame.payload.length} bytes)${frame.payload.length && frame.payload.length <= 128 ? ` ${bytesToHex(frame.payload)}` : ''}`);
        this.received.push(frame.command);
        return frame;
      }
      this.parser.push(await this.channel.read());
    }
  }
}

async function handshake(stream, id, o, ourPayload) {
  const payload = encodeHandshakePayload(ourPayload);
  // --classical plays a node whose policy is `off` (classical only, no downgrade check).
  const args = { magic: o.magicBytes, mode: o.mode, staticPriv: id.staticPriv, payload, policyOff: !!o.classical };
  if (o.role === 'initiator') return initiatorHandshake(stream, args);
  return responderHandshake(stream, { ...args, accept: [o.mode] });
}

/** Our quantumproof: ML-DSA-65 over M with our role, B = h, our static key (or a bad one). */
function makeProof(id, session, o) {
  const role = ROLE[o.role] ^ (o.badProof === 'role' ? 1 : 0);
  const binds = o.badProof === 'binds' ? new Uint8Array(32) : session.handshakeHash;
  const m = p2p.quantumProofMessage(o.magicBytes, role, binds, session.localStatic);
  const signature = ml_dsa65.sign(m, id.dsa.secretKey, o.deterministic ? { extraEntropy: false } : undefined);
  return p2p.encodeQuantumProof({ publicKey: id.dsa.publicKey, signature, binds });
}

/** The node's proof, its first message; checked in the doc's order. Returns the node id. */
async function readProof(session, channelSession, o) {
  const first = await session.next();
  if (first.command !== 'quantumproof') throw new PeerError('quantumproof-missing', `first message ${first.command}`);
  let proof;
  try {
    proof = p2p.decodeQuantumProof(first.payload);
  } catch (err) {
    throw new PeerError('quantumproof-malformed', err.message);
  }
  if (bytesToHex(proof.binds) !== bytesToHex(channelSession.handshakeHash)) {
    throw new PeerError('quantumproof-invalid', 'the proof binds another session');
  }
  const peerRole = 1 - ROLE[o.role];
  const m = p2p.quantumProofMessage(o.magicBytes, peerRole, proof.binds, channelSession.remoteStatic);
  if (!ml_dsa65.verify(proof.signature, m, proof.publicKey)) throw new PeerError('quantumproof-invalid', 'the signature does not verify');
  const id = p2p.nodeId(channelSession.remoteStatic, proof.publicKey);
  if (o.pin && o.pin.toLowerCase() !== bytesToHex(id)) throw new PeerError('pin-mismatch', `node id ${bytesToHex(id)}`);
  return id;
}

function ourVersion(o, state) {
  const remote = state.sock.remoteAddress.replace(/^::ffff:/, '');
  const addrRecv = net.isIPv4(remote) ? p2p.netAddr(0n, remote, state.sock.remotePort) : undefined;
  return p2p.encodeVersion({ timestamp: BigInt(Math.floor(Date.now() / 1000)), addrRecv, nonce: state.nonce, userAgent: '/noble-interop-peer:1.0/' });
}

/** Answers what a session must answer at any time: ping, and the node's own getheaders. */
function answerRoutine(session, frame) {
  if (frame.command === 'ping') {
    session.send('pong', p2p.encodeNonce(p2p.decodeNonce(frame.payload)));
    session.pongs += 1;
  } else if (frame.command === 'getheaders') {
    p2p.decodeGetHeaders(frame.payload);
    session.send('headers', p2p.encodeHeaders([])); // we hold nothing past the locator
  } else return false;
  return true;
}

/** version/verack: the initiator's version is already sent; the responder answers the node's. */
async function versionHandshake(session, o, state) {
  const first = await session.next();
  if (first.command !== 'version') throw new PeerError('protocol-violation', `${first.command} before version`);
  const v = p2p.decodeVersion(first.payload);
  log(o, `node version payload ${bytesToHex(first.payload)}`);
  if (v.version < p2p.PROTOCOL_VERSION) throw new PeerError('version-too-old', `version ${v.version}`);
  if (v.nonce === state.nonce) throw new PeerError('self-connection');
  if (o.role === 'responder') session.send('version', ourVersion(o, state));
  session.send('sendaddrv2');
  session.send('verack');
  let sawSendAddrV2 = false;
  for (;;) {
    const f = await session.next();
    if (f.command === 'verack') break;
    if (f.command === 'sendaddrv2') sawSendAddrV2 = true;
    else answerRoutine(session, f);
  }
  return { version: v.version, userAgent: v.userAgent, startHeight: v.startHeight, services: v.services.toString(), sendaddrv2: sawSendAddrV2 };
}

/** --linger: stays connected, answering, for `ms` after the headers (keep-alive, announcements). */
async function linger(session, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const next = session.next();
    next.catch(() => {}); // still pending when the deadline comes; the connection then closes
    const left = deadline - Date.now();
    const frame = left > 0 ? await Promise.race([next, new Promise((r) => setTimeout(() => r(null), left))]) : null;
    if (!frame) return;
    answerRoutine(session, frame);
  }
}

/** getheaders from genesis, then from the last hash received, until an empty `headers`. */
async function fetchHeaders(session, o) {
  const all = [];
  let locator = o.genesisHash;
  for (let round = 0; round < 1000; round++) {
    session.send('getheaders', p2p.encodeGetHeaders([locator]));
    let frame;
    do {
      frame = await session.next();
      if (frame.command !== 'headers') answerRoutine(session, frame);
    } while (frame.command !== 'headers');
    const batch = p2p.decodeHeaders(frame.payload);
    log(o, `headers: ${batch.length}`);
    if (batch.length === 0) return all;
    all.push(...batch);
    locator = p2p.sha256d(batch[batch.length - 1]);
  }
  throw new PeerError('invalid-data', 'the node keeps sending headers');
}

/** The headers' checks (p2p.checkHeaderChain) from our genesis, and the expected count. */
function validateHeaders(raws, o) {
  const genesis = rebuildGenesis(o);
  let tip;
  try {
    tip = p2p.checkHeaderChain(raws, { genesisHash: o.genesisHash, genesisTime: genesis ? p2p.parseHeader(genesis).time : undefined, powLimit: o.powLimitValue });
  } catch (err) {
    throw new PeerError('invalid-data', err.message);
  }
  if (o.expectHeaders !== undefined && raws.length !== Number(o.expectHeaders)) {
    throw new PeerError('invalid-data', `${raws.length} headers, expected ${o.expectHeaders}`);
  }
  return { count: raws.length, tip: p2p.displayHex(tip), genesisRebuilt: !!genesis };
}

/** For regtest, genesis rebuilt from the doc's recipe must hash to the doc's genesis hash. */
function rebuildGenesis(o) {
  if (o.genesis !== p2p.REGTEST_GENESIS_DISPLAY) return null;
  const raw = p2p.genesisHeader();
  const got = p2p.displayHex(p2p.sha256d(raw));
  if (got !== o.genesis) throw new Error(`genesis rebuilt from docs/protocol.md hashes to ${got}, not ${o.genesis}`);
  return raw;
}

async function run(o, ctx) {
  const id = makeIdentity(o);
  ctx.facts = { our_node_id: bytesToHex(id.nodeId) };
  if (o.role === 'responder') console.log(`NODE_ID ${ctx.facts.our_node_id}`); // for a dialler's pin
  const sock = await openSocket(o);
  ctx.sock = sock;
  ctx.stage = 'handshake';
  const state = { sock, nonce: BigInt.asUintN(64, p2p.hashToBigInt(randomBytes(8))) | 1n };
  const stream = new SocketStream(sock);
  const ourPayload = { features: o.classical ? 0n : 1n, rekeyMessages: Number(o.rekeyMessages), rekeyBytes: BigInt(o.rekeyBytes) };
  try {
    return await session(o, id, stream, ourPayload, state, ctx);
  } finally {
    sock.end();
  }
}

async function session(o, id, stream, ourPayload, state, ctx) {
  const hs = await handshake(stream, id, o, ourPayload);
  Object.assign(ctx.facts, { handshake_hash: bytesToHex(hs.handshakeHash), node_static: bytesToHex(hs.remoteStatic) });
  log(o, `handshake done, mode ${hs.mode}, h ${ctx.facts.handshake_hash}`);
  const channel = new SecureChannel(stream, hs, ourPayload);
  const s = new P2PSession(channel, o);
  ctx.received = s.received;
  s.send('quantumproof', makeProof(id, hs, o));
  if (o.role === 'initiator') s.send('version', ourVersion(o, state));
  ctx.stage = 'quantumproof';
  const peerId = await readProof(s, hs, o);
  ctx.facts.node_id = bytesToHex(peerId);
  ctx.stage = 'version';
  const version = await versionHandshake(s, o, state);
  ctx.stage = 'headers';
  const headers = validateHeaders(await fetchHeaders(s, o), o);
  if (o.linger) await linger(s, Number(o.linger) * 1000);
  return {
    ok: true, role: o.role, mode: hs.mode === MODE_HYBRID ? 'hybrid' : 'classical', ...ctx.facts,
    our_static: bytesToHex(id.staticPub),
    node_rekey: { messages: hs.remotePayload.rekeyMessages, bytes: hs.remotePayload.rekeyBytes.toString() },
    rekeys: { sent: channel.out.rekeys, received: channel.in.rekeys },
    version: version.version, user_agent: version.userAgent, start_height: version.startHeight, sendaddrv2: version.sendaddrv2,
    headers: headers.count, tip: headers.tip, genesis_rebuilt: headers.genesisRebuilt,
    received: s.received, pings_answered: s.pongs,
  };
}

async function main() {
  let o;
  const ctx = { stage: 'connect', facts: {} };
  try {
    o = parseArgs(process.argv.slice(2));
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new PeerError('timeout', `no result within ${o.timeout} s`)), Number(o.timeout) * 1000);
    });
    const result = await Promise.race([run(o, ctx), timeout]);
    clearTimeout(timer);
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (err) {
    const out = { ok: false, role: o?.role, error: err.message, reason: err.reason ?? 'error', stage: ctx.stage, ...ctx.facts, ...(err.extra ?? {}), received: ctx.received };
    console.log(JSON.stringify(out));
    ctx.sock?.destroy();
    process.exit(1);
  }
}

main();
