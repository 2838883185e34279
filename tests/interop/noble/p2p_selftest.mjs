// Offline checks of p2p.mjs and transport.mjs against the examples and sizes docs/protocol.md
// gives, and a JS-to-JS transport session over loopback TCP (both roles, both modes, rekeying).
// Run: node p2p_selftest.mjs (exit 0 when all pass).

import net from 'node:net';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { randomBytes } from '@noble/hashes/utils.js';
import * as p2p from './p2p.mjs';
import * as t from './transport.mjs';

const { bytesToHex, hexToBytes } = p2p;
const MAGIC = hexToBytes('5154434d');
let failures = 0;
function check(what, cond) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}
function throws(fn, pattern) {
  try {
    fn();
    return false;
  } catch (err) {
    return pattern.test(err.message);
  }
}

function codecChecks() {
  check('verack frame = the doc example', bytesToHex(p2p.encodeFrame(MAGIC, 'verack')) === '5154434d76657261636b000000000000000000005df6e0e2');
  const hp = t.encodeHandshakePayload({ features: 1n, rekeyMessages: 3, rekeyBytes: 256n });
  check('handshake payload = the doc example', bytesToHex(hp) === '02' + '0100000000000000' + '03000000' + '0001000000000000');
  check('prologue = the doc bytes', bytesToHex(t.prologue(MAGIC, 1)) === '7174632d7032702d6e6f6973652f325154434d01');
  check('genesis rebuilt from the doc hashes to the doc hash', p2p.displayHex(p2p.sha256d(p2p.genesisHeader())) === p2p.REGTEST_GENESIS_DISPLAY);
  check('regtest bits give pow_limit', p2p.targetFromBits(0x207fffff) === p2p.REGTEST_POW_LIMIT);
  check('negative bits refused', throws(() => p2p.targetFromBits(0x20800001), /negative/));
  check('zero bits refused', throws(() => p2p.targetFromBits(0x20000000), /zero/));
  check('overflowing bits refused', throws(() => p2p.targetFromBits(0x22010000), /overflow/));
  check('non-canonical CompactSize refused', throws(() => new p2p.Reader(hexToBytes('fd1000')).compactSize(), /non_canonical/));
  const g = p2p.genesisHeader();
  check('headers round trip', bytesToHex(p2p.decodeHeaders(p2p.encodeHeaders([g, g]))[1]) === bytesToHex(g));
  check('headers with tx_count 1 refused', throws(() => p2p.decodeHeaders(hexToBytes('01' + bytesToHex(g) + '01')), /invalid_value/));
  const parser = new p2p.FrameParser(MAGIC);
  const frame = p2p.encodeFrame(MAGIC, 'ping', p2p.encodeNonce(7n));
  parser.push(frame.subarray(0, 30));
  check('partial frame waits', parser.next() === null);
  parser.push(frame.subarray(30));
  check('frame parsed', p2p.decodeNonce(parser.next().payload) === 7n);
  const bad = Uint8Array.from(frame);
  bad[bad.length - 1] ^= 1;
  const badParser = new p2p.FrameParser(MAGIC);
  badParser.push(bad);
  check('bad checksum refused', throws(() => badParser.next(), /bad_checksum/));
}

function proofChecks() {
  const keys = ml_dsa65.keygen(new Uint8Array(32));
  const m = p2p.quantumProofMessage(MAGIC, 1, new Uint8Array(32), new Uint8Array(32));
  check('M is 87 bytes', m.length === 87);
  const sig = ml_dsa65.sign(m, keys.secretKey, { extraEntropy: false });
  const payload = p2p.encodeQuantumProof({ publicKey: keys.publicKey, signature: sig, binds: new Uint8Array(32) });
  check('quantumproof payload is 5300 bytes', payload.length === 5300);
  check('CompactSize 1952 = fd a0 07, 3309 = fd ed 0c', bytesToHex(payload.subarray(1, 4)) === 'fda007' && bytesToHex(payload.subarray(1956, 1959)) === 'fded0c');
  check('proof decodes and verifies', ml_dsa65.verify(p2p.decodeQuantumProof(payload).signature, m, keys.publicKey));
  const wrongType = Uint8Array.from(payload);
  wrongType[0] = 2;
  check('proof type 2 refused', throws(() => p2p.decodeQuantumProof(wrongType), /malformed/));
}

/** A regtest header on `prev` mined in JS (bits 0x207fffff: about every second nonce works). */
function mine(prev, time, bits = 0x207fffff) {
  for (let nonce = 0; ; nonce++) {
    const raw = new p2p.Writer().i32(1).bytes(prev).bytes(randomBytes(32)).u32(time).u32(bits).u32(nonce).done();
    if (p2p.hashToBigInt(p2p.sha256d(raw)) <= p2p.targetFromBits(bits)) return raw;
  }
}

function headerChainChecks() {
  const genesis = p2p.genesisHeader();
  const g = { genesisHash: p2p.sha256d(genesis), genesisTime: p2p.parseHeader(genesis).time };
  const chain = [];
  for (let i = 0, prev = g.genesisHash; i < 20; i++) {
    chain.push(mine(prev, g.genesisTime + 600 * (i + 1)));
    prev = p2p.sha256d(chain[i]);
  }
  check('a mined chain passes', bytesToHex(p2p.checkHeaderChain(chain, g)) === bytesToHex(p2p.sha256d(chain[19])));
  check('broken linkage refused', throws(() => p2p.checkHeaderChain([chain[0], chain[2]], g), /does not link/));
  const unworked = Uint8Array.from(chain[5]);
  do unworked[76]++; while (p2p.hashToBigInt(p2p.sha256d(unworked)) <= p2p.REGTEST_POW_LIMIT);
  check('bad proof of work refused', throws(() => p2p.checkHeaderChain([...chain.slice(0, 5), unworked], g), /bad_proof_of_work/));
  const old = mine(p2p.sha256d(chain[9]), g.genesisTime + 600 * 5); // the MTP of 11 times ending at +6000 is +3000
  check('time at or below the median time past refused', throws(() => p2p.checkHeaderChain([...chain.slice(0, 10), old], g), /time_too_old/));
  const hard = mine(p2p.sha256d(chain[19]), g.genesisTime + 600 * 21, 0x1f7fffff);
  check('a harder target is fine', p2p.checkHeaderChain([...chain, hard], g).length === 32);
  check('a target above pow_limit refused', throws(() => p2p.checkHeaderChain([mine(g.genesisHash, g.genesisTime + 1, 0x2100ffff)], g), /pow_limit/));
}

/** A loopback TCP pair carrying a JS initiator and a JS responder (policy not `off`). */
async function loopbackHandshake(mode, limits) {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise((r) => server.once('connection', r));
  const client = net.connect(server.address().port, '127.0.0.1');
  const sock = await accepted;
  server.close();
  const ci = new t.SocketStream(client);
  const cr = new t.SocketStream(sock);
  const payload = t.encodeHandshakePayload(limits);
  const sides = await Promise.allSettled([
    t.initiatorHandshake(ci, { magic: MAGIC, mode, staticPriv: randomBytes(32), payload }),
    t.responderHandshake(cr, { magic: MAGIC, accept: [mode], staticPriv: randomBytes(32), payload }),
  ].map((p) => p.catch((err) => {
    client.destroy(); // one side failed: end the other's wait
    throw err;
  })));
  if (sides.some((x) => x.status === 'rejected')) {
    sock.destroy();
    return { errors: sides.map((x) => x.reason?.reason) };
  }
  const [i, r] = sides.map((x) => x.value);
  return { i: new t.SecureChannel(ci, i, limits), r: new t.SecureChannel(cr, r, limits), hi: i, hr: r, client, sock, bytes: [ci.received, cr.received] };
}

async function sessionChecks(mode, expectedBytes) {
  const limits = { features: mode === t.MODE_HYBRID ? 1n : 0n, rekeyMessages: 3, rekeyBytes: 200n };
  const s = await loopbackHandshake(mode, limits);
  check(`mode ${mode}: both sides agree on h`, bytesToHex(s.hi.handshakeHash) === bytesToHex(s.hr.handshakeHash));
  check(`mode ${mode}: handshake bytes ${expectedBytes}`, s.bytes[0] + s.bytes[1] === expectedBytes);
  check(`mode ${mode}: remote statics`, bytesToHex(s.hi.remoteStatic) === bytesToHex(s.hr.localStatic));
  for (let n = 0; n < 10; n++) {
    const msg = randomBytes(n * 40 + 1);
    s.i.write(msg);
    check(`mode ${mode}: message ${n} through rekeys`, bytesToHex(await s.r.read()) === bytesToHex(msg));
  }
  const big = p2p.concatBytes(randomBytes(35000), randomBytes(35000));
  s.r.write(big);
  const got = p2p.concatBytes(await s.i.read(), await s.i.read());
  check(`mode ${mode}: 70000 bytes as two transport messages`, bytesToHex(got) === bytesToHex(big));
  check(`mode ${mode}: both sides rekeyed alike`, s.i.out.rekeys === s.r.in.rekeys && s.i.out.rekeys > 2);
  s.client.destroy();
  s.sock.destroy();
}

async function downgradeCheck() {
  const s = await loopbackHandshake(t.MODE_CLASSICAL, { features: 1n, rekeyMessages: 3, rekeyBytes: 200n });
  check('classical handshake with feature bit 0: downgrade_detected', s.errors?.[0] === 'downgrade_detected');
}

codecChecks();
proofChecks();
headerChainChecks();
await sessionChecks(t.MODE_HYBRID, 2534);
await sessionChecks(t.MODE_CLASSICAL, 246);
await downgradeCheck();
console.log(failures ? `${failures} FAILED` : 'all passed');
process.exit(failures ? 1 : 0);
