// QuantumCoin P2P codec, written from docs/protocol.md ("Primitives", "Frames", "Messages",
// "Blocks and transactions", "Genesis", "QuantumProof") only: Bitcoin-style frames and the few
// payloads the interop peer (peer.mjs) speaks. Uint8Array in, Uint8Array out; BigInt for u64.

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export { bytesToHex, hexToBytes, concatBytes, utf8ToBytes };

export const sha256d = (b) => sha256(sha256(b));
export const HEADER_LEN = 80;
export const PROTOCOL_VERSION = 70015;
/** The regtest genesis hash as docs/protocol.md "Genesis" displays it (reversed byte order). */
export const REGTEST_GENESIS_DISPLAY = '205b687019cfd7bbb8cb6f3a2e1f363402d308fbf9d28e1bddb112fadd953abc';
export const REGTEST_POW_LIMIT = 0x7fffffn << 232n; // "7fffff00…00" (config/regtest.toml)

/** hash256 as displayed: reversed. */
export const displayHex = (hash) => bytesToHex(Uint8Array.from(hash).reverse());
export const fromDisplayHex = (hex) => hexToBytes(hex).reverse();

// ---------------------------------------------------------------------------------------------
// Primitives: little-endian writer and a bounds-checked reader.
export class Writer {
  constructor() {
    this.parts = [];
  }
  bytes(b) {
    this.parts.push(Uint8Array.from(b));
    return this;
  }
  int(size, v, le = true) {
    const b = new Uint8Array(size);
    let x = BigInt.asUintN(size * 8, BigInt(v));
    for (let i = 0; i < size; i++, x >>= 8n) b[le ? i : size - 1 - i] = Number(x & 0xffn);
    return this.bytes(b);
  }
  u8(v) { return this.int(1, v); }
  u16be(v) { return this.int(2, v, false); }
  u32(v) { return this.int(4, v); }
  i32(v) { return this.int(4, v); }
  u64(v) { return this.int(8, v); }
  i64(v) { return this.int(8, v); }
  compactSize(n) {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfd).int(2, n);
    if (n <= 0xffffffff) return this.u8(0xfe).int(4, n);
    return this.u8(0xff).int(8, n);
  }
  varBytes(b) {
    return this.compactSize(b.length).bytes(b);
  }
  done() {
    return concatBytes(...this.parts);
  }
}

export class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.off = 0;
  }
  take(n, what = 'field') {
    if (this.off + n > this.b.length) throw new Error(`truncated (${what})`);
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  uint(size, le = true) {
    const b = this.take(size);
    let x = 0n;
    for (let i = 0; i < size; i++) x |= BigInt(b[le ? i : size - 1 - i]) << BigInt(8 * i);
    return x;
  }
  u8() { return Number(this.uint(1)); }
  u16be() { return Number(this.uint(2, false)); }
  u32() { return Number(this.uint(4)); }
  i32() { return Number(BigInt.asIntN(32, this.uint(4))); }
  u64() { return this.uint(8); }
  i64() { return BigInt.asIntN(64, this.uint(8)); }
  bool() {
    const v = this.u8();
    if (v > 1) throw new Error('invalid_value (bool)');
    return v === 1;
  }
  /** CompactSize, refusing non-shortest forms (non_canonical_size). */
  compactSize() {
    const first = this.u8();
    if (first < 0xfd) return first;
    const size = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    const v = Number(this.uint(size));
    const min = size === 2 ? 0xfd : size === 4 ? 0x10000 : 0x100000000;
    if (v < min) throw new Error('non_canonical_size');
    return v;
  }
  /** A count bounded by `limit` and by what the remaining bytes can hold at `minItem` each. */
  count(limit, minItem, what) {
    const n = this.compactSize();
    if (n > limit) throw new Error(`count_too_large (${what})`);
    if (n * minItem > this.remaining()) throw new Error(`truncated (${what})`);
    return n;
  }
  varBytes(limit, what) {
    return this.take(this.count(limit, 1, what), what);
  }
  remaining() {
    return this.b.length - this.off;
  }
  end() {
    if (this.remaining() !== 0) throw new Error('trailing_bytes');
  }
}

// ---------------------------------------------------------------------------------------------
// Frames: magic 4 | command 12 (NUL padded) | length u32 | checksum 4 | payload.
export function encodeFrame(magic, command, payload = new Uint8Array(0)) {
  const cmd = new Uint8Array(12);
  cmd.set(utf8ToBytes(command));
  return new Writer().bytes(magic).bytes(cmd).u32(payload.length).bytes(sha256d(payload).subarray(0, 4)).bytes(payload).done();
}

function parseCommand(field) {
  let n = 0;
  while (n < 12 && field[n] !== 0) {
    if (field[n] < 0x20 || field[n] > 0x7e) throw new Error('frame: bad_command');
    n++;
  }
  if (n === 0 || field.subarray(n).some((b) => b !== 0)) throw new Error('frame: bad_command');
  return String.fromCharCode(...field.subarray(0, n));
}

/** Incremental frame parser over a decrypted byte stream. */
export class FrameParser {
  constructor(magic, maxPayload = 4_000_000) {
    this.magic = magic;
    this.maxPayload = maxPayload;
    this.buf = new Uint8Array(0);
  }
  push(bytes) {
    this.buf = concatBytes(this.buf, bytes);
  }
  /** The next complete frame {command, payload}, or null when more bytes are needed. */
  next() {
    if (this.buf.length < 24) return null;
    const head = new Reader(this.buf.subarray(0, 24));
    if (!head.take(4).every((b, i) => b === this.magic[i])) throw new Error('frame: wrong_magic');
    const command = parseCommand(head.take(12));
    const len = head.u32();
    const checksum = head.take(4);
    if (len > this.maxPayload) throw new Error(`${command}: payload_too_large`);
    if (this.buf.length < 24 + len) return null;
    const payload = this.buf.slice(24, 24 + len);
    this.buf = this.buf.slice(24 + len);
    if (!sha256d(payload).subarray(0, 4).every((b, i) => b === checksum[i])) throw new Error(`${command}: bad_checksum`);
    return { command, payload };
  }
}

// ---------------------------------------------------------------------------------------------
// Messages.
const ZERO_ADDR = new Uint8Array(26);

/** net_addr for IPv4 127.0.0.1-style addresses: services u64, ::ffff:a.b.c.d, port u16 BE. */
export function netAddr(services, ipv4, port) {
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip.set(ipv4.split('.').map(Number), 12);
  return new Writer().u64(services).bytes(ip).u16be(port).done();
}

export function encodeVersion({ version = PROTOCOL_VERSION, services = 0n, timestamp, addrRecv = ZERO_ADDR, nonce, userAgent, startHeight = 0, relay = true }) {
  return new Writer().i32(version).u64(services).i64(timestamp).bytes(addrRecv).bytes(ZERO_ADDR)
    .u64(nonce).varBytes(utf8ToBytes(userAgent)).i32(startHeight).u8(relay ? 1 : 0).done();
}

export function decodeVersion(payload) {
  const r = new Reader(payload);
  const v = { version: r.i32(), services: r.u64(), timestamp: r.i64() };
  v.addrRecv = r.take(26, 'addr_recv');
  v.addrFrom = r.take(26, 'addr_from');
  v.nonce = r.u64();
  v.userAgent = new TextDecoder().decode(r.varBytes(256, 'user_agent'));
  v.startHeight = r.i32();
  v.relay = r.remaining() ? r.bool() : true;
  r.end();
  return v;
}

export const encodeNonce = (nonce) => new Writer().u64(nonce).done();
export function decodeNonce(payload) {
  const r = new Reader(payload);
  const n = r.u64();
  r.end();
  return n;
}

export function encodeGetHeaders(locator, stop = new Uint8Array(32), version = PROTOCOL_VERSION) {
  const w = new Writer().u32(version).compactSize(locator.length);
  for (const h of locator) w.bytes(h);
  return w.bytes(stop).done();
}

export function decodeGetHeaders(payload) {
  const r = new Reader(payload);
  const version = r.u32();
  const n = r.count(101, 32, 'locator');
  const locator = Array.from({ length: n }, () => r.take(32));
  const stop = r.take(32, 'stop');
  r.end();
  return { version, locator, stop };
}

export function encodeHeaders(headers) {
  const w = new Writer().compactSize(headers.length);
  for (const h of headers) w.bytes(h).compactSize(0);
  return w.done();
}

/** headers: CompactSize n ≤ 2000, n × (80-byte header, tx_count = 0). Returns raw headers. */
export function decodeHeaders(payload) {
  const r = new Reader(payload);
  const n = r.count(2000, HEADER_LEN + 1, 'headers');
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(Uint8Array.from(r.take(HEADER_LEN, 'header')));
    if (r.compactSize() !== 0) throw new Error('invalid_value (headers tx_count)');
  }
  r.end();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Headers: fields, hash, compact targets, genesis.
export function parseHeader(raw) {
  const r = new Reader(raw);
  const h = { version: r.i32(), prevBlock: r.take(32), merkleRoot: r.take(32), time: r.u32(), bits: r.u32(), nonce: r.u32() };
  r.end();
  h.hash = sha256d(raw);
  return h;
}

/** Compact `bits` to a 256-bit target; throws on negative, zero or overflowing encodings. */
export function targetFromBits(bits) {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if (bits & 0x00800000) throw new Error(`bits ${bits.toString(16)}: negative`);
  if (mantissa === 0) throw new Error(`bits ${bits.toString(16)}: zero`);
  const target = exponent <= 3 ? BigInt(mantissa) >> BigInt(8 * (3 - exponent)) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target === 0n) throw new Error(`bits ${bits.toString(16)}: zero`);
  if (target >> 256n !== 0n) throw new Error(`bits ${bits.toString(16)}: overflow`);
  return target;
}

/** The hash read as a little-endian 256-bit number. */
export function hashToBigInt(hash) {
  let x = 0n;
  for (let i = hash.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(hash[i]);
  return x;
}

/** Median time past of the last up to 11 times: sorted, the element at ⌊count / 2⌋. */
export function medianTimePast(times) {
  const window = times.slice(-11).sort((a, b) => a - b);
  return window[Math.floor(window.length / 2)];
}

/** A chain of raw headers after `genesisHash`: linkage, bits decoding to a target within
 *  `powLimit`, proof of work, time above the median time past (from genesis when `genesisTime`
 *  is known). Returns the last hash (genesis for none); throws naming the first bad header. */
export function checkHeaderChain(raws, { genesisHash, genesisTime, powLimit = REGTEST_POW_LIMIT }) {
  let prev = genesisHash;
  const times = genesisTime === undefined ? [] : [genesisTime];
  raws.forEach((raw, i) => {
    const h = parseHeader(raw);
    const where = `header ${i + 1} (${displayHex(h.hash)})`;
    if (bytesToHex(h.prevBlock) !== bytesToHex(prev)) throw new Error(`${where}: prev_block ${displayHex(h.prevBlock)} does not link`);
    const target = targetFromBits(h.bits);
    if (target > powLimit) throw new Error(`${where}: target above pow_limit`);
    if (hashToBigInt(h.hash) > target) throw new Error(`${where}: bad_proof_of_work (bits ${h.bits.toString(16)})`);
    if (times.length && h.time <= medianTimePast(times)) throw new Error(`${where}: time_too_old`);
    times.push(h.time);
    prev = h.hash;
  });
  return prev;
}

/** Genesis as docs/protocol.md "Genesis" builds it from the chain spec's [genesis] table. */
export function genesisHeader({ version = 1, time = 1735689600, bits = 0x207fffff, nonce = 1, message = 'QuantumCoin regtest genesis', reward = 5_000_000_000n } = {}) {
  const msg = utf8ToBytes(message);
  const scriptSig = new Writer().u8(4).u32(bits).u8(1).u8(4).u8(msg.length).bytes(msg).done();
  const tx = new Writer().i32(1).compactSize(1).bytes(new Uint8Array(32)).u32(0xffffffff).varBytes(scriptSig).u32(0xffffffff)
    .compactSize(1).i64(reward).varBytes(Uint8Array.of(0x51)).u32(0).done();
  return new Writer().i32(version).bytes(new Uint8Array(32)).bytes(sha256d(tx)).u32(time).u32(bits).u32(nonce).done();
}

// ---------------------------------------------------------------------------------------------
// QuantumProof: proof_type u8 (01 = ML-DSA-65), public_key var_bytes, signature var_bytes, binds.
export const PROOF_TYPE_MLDSA65 = 1;
export const MLDSA65_PUBLIC_KEY_LEN = 1952;
export const MLDSA65_SIGNATURE_LEN = 3309;

export function encodeQuantumProof({ publicKey, signature, binds }) {
  return new Writer().u8(PROOF_TYPE_MLDSA65).varBytes(publicKey).varBytes(signature).bytes(binds).done();
}

/** Decodes and checks type and sizes (the receiver's first check: quantumproof-malformed). */
export function decodeQuantumProof(payload) {
  const r = new Reader(payload);
  const type = r.u8();
  const publicKey = r.varBytes(4096, 'public_key');
  const signature = r.varBytes(65536, 'signature');
  const binds = r.take(32, 'binds');
  r.end();
  if (type !== PROOF_TYPE_MLDSA65) throw new Error(`quantumproof-malformed: proof_type ${type}`);
  if (publicKey.length !== MLDSA65_PUBLIC_KEY_LEN || signature.length !== MLDSA65_SIGNATURE_LEN) {
    throw new Error(`quantumproof-malformed: key ${publicKey.length}, signature ${signature.length} bytes`);
  }
  return { type, publicKey, signature, binds };
}

/** M = "qtc-quantumproof/1" ‖ magic ‖ role (00 initiator, 01 responder) ‖ B ‖ signer's static key. */
export function quantumProofMessage(magic, role, binds, staticKey) {
  return concatBytes(utf8ToBytes('qtc-quantumproof/1'), magic, Uint8Array.of(role), binds, staticKey);
}

export const nodeId = (staticKey, mldsaPublicKey) => sha256(concatBytes(staticKey, mldsaPublicKey));
