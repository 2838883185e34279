// Independent Noise Protocol Framework implementation (revision 34, sections 4 and 5) with the
// "hfs" modifier (KEM-based Hybrid Forward Secrecy, noise_hfs_spec revision 1).
//
// Written from the specification text only, on top of the audited @noble libraries, so that the
// project's C++ implementation can be checked against an implementation that shares no code with
// it. Deliberately simple: Uint8Array in, Uint8Array out, every step named as in the spec.
//
// Supported: DH 25519; KEM MLKEM768 (only together with "hfs"); cipher ChaChaPoly; hashes
// BLAKE2s, SHA256 (required) and BLAKE2b, SHA512 (cheap, and they exercise the HASHLEN=64
// truncation rules of MixKey/Split); the 12 interactive fundamental patterns; "hfs" on 11 of them
// (not KK, see applyHfs). Not supported: one-way/deferred patterns, psk, fallback, AESGCM, 448.

import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s, blake2b } from '@noble/hashes/blake2.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { randomBytes, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';

/** Noise section 3: every Noise message is at most 65535 bytes. */
export const MAX_MESSAGE_LEN = 65535;
const TAGLEN = 16;
/** 2^64-1 is reserved (section 5.1): using it as a nonce is an error (rekey uses it internally). */
const MAX_NONCE = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Section 4.1: DH functions. Only 25519.
export const DH_25519 = {
  name: '25519',
  DHLEN: 32,
  /** Returns {priv, pub}. A given 32-byte private key is used as is (X25519 clamps internally),
   *  which is how test vectors inject fixed keys. */
  generateKeypair(priv = randomBytes(32)) {
    if (priv.length !== 32) throw new Error('25519 private key must be 32 bytes');
    return { priv: Uint8Array.from(priv), pub: x25519.getPublicKey(priv) };
  },
  /** noble rejects low-order peer keys (all-zero output); Noise 12.1 allows either behaviour. */
  dh(keypair, pub) {
    return x25519.getSharedSecret(keypair.priv, pub);
  },
};

// HFS section 3: KEM functions. ML-KEM-768 (FIPS 203). noble's keygen takes the 64-byte seed
// d||z (FIPS 203 ML-KEM.KeyGen_internal(d, z)) and encapsulate takes the 32-byte message m
// (ML-KEM.Encaps_internal(ek, m)); omitted, they are drawn from the system RNG.
export const KEM_MLKEM768 = {
  name: 'MLKEM768',
  KEMPUBLICKEYLEN: 1184,
  KEMCIPHERTEXTLEN: 1088,
  KEMOUTPUTLEN: 32,
  SEEDLEN: 64,
  ENCAPSLEN: 32,
  /** GENERATE_KEM_KEYPAIR(): returns {pub, priv}. */
  generateKeypair(seed) {
    const { publicKey, secretKey } = ml_kem768.keygen(seed ? Uint8Array.from(seed) : undefined);
    return { pub: publicKey, priv: secretKey };
  },
  /** GENERATE_KEM_CIPHERTEXT(public_key): returns {ciphertext, kemOutput}. */
  encapsulate(pub, m) {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(pub, m ? Uint8Array.from(m) : undefined);
    return { ciphertext: cipherText, kemOutput: Uint8Array.from(sharedSecret) };
  },
  /** KEM(key_pair, ciphertext). A bad ciphertext gives a pseudo-random output (implicit
   *  rejection), so tampering surfaces as an AEAD failure on the next decryption. */
  decapsulate(keypair, ciphertext) {
    return ml_kem768.decapsulate(ciphertext, keypair.priv);
  },
};

// Section 4.2: cipher functions. ChaChaPoly: 96-bit nonce = 32 zero bits || little-endian 64-bit n.
export const CIPHER_CHACHAPOLY = {
  name: 'ChaChaPoly',
  nonce(n) {
    const out = new Uint8Array(12);
    new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
    return out;
  },
  encrypt(k, n, ad, plaintext) {
    return chacha20poly1305(k, this.nonce(n), ad).encrypt(plaintext);
  },
  decrypt(k, n, ad, ciphertext) {
    try {
      return chacha20poly1305(k, this.nonce(n), ad).decrypt(ciphertext);
    } catch (err) {
      throw new Error('Noise: AEAD authentication failed', { cause: err });
    }
  },
  /** Section 4.2 default REKEY(k): first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros[32]). */
  rekey(k) {
    return this.encrypt(k, MAX_NONCE, EMPTY, new Uint8Array(32)).slice(0, 32);
  },
};

// Section 4.3: hash functions. BLOCKLEN matters only for HMAC; noble's blockLen for each hash
// equals the value Noise specifies (64 for BLAKE2s/SHA256, 128 for BLAKE2b/SHA512), which
// selftest.mjs checks, along with noble's hmac() against a from-scratch RFC 2104 HMAC.
function makeHash(name, fn, HASHLEN, BLOCKLEN) {
  if (fn.outputLen !== HASHLEN || fn.blockLen !== BLOCKLEN) throw new Error(`${name}: unexpected lengths`);
  return { name, HASHLEN, BLOCKLEN, fn, hash: (data) => fn(data) };
}
export const HASHES = {
  BLAKE2s: makeHash('BLAKE2s', blake2s, 32, 64),
  SHA256: makeHash('SHA256', sha256, 32, 64),
  BLAKE2b: makeHash('BLAKE2b', blake2b, 64, 128),
  SHA512: makeHash('SHA512', sha512, 64, 128),
};

/** HMAC-HASH(key, data) as Noise section 4.3 uses it (RFC 2104 with the hash's BLOCKLEN). */
export function hmacHash(H, key, data) {
  return hmac(H.fn, key, data);
}

/** Noise section 4.3 HKDF(chaining_key, input_key_material, num_outputs). Written out rather than
 *  calling an RFC 5869 helper: Noise's HKDF is RFC 5869 with salt=ck, info=empty, but spelling it
 *  out keeps the byte layout (output_i = HMAC(temp_key, output_{i-1} || byte(i))) auditable. */
export function hkdf(H, chainingKey, inputKeyMaterial, numOutputs) {
  if (numOutputs !== 2 && numOutputs !== 3) throw new Error('HKDF: num_outputs must be 2 or 3');
  const tempKey = hmacHash(H, chainingKey, inputKeyMaterial);
  const out1 = hmacHash(H, tempKey, Uint8Array.of(0x01));
  const out2 = hmacHash(H, tempKey, concatBytes(out1, Uint8Array.of(0x02)));
  if (numOutputs === 2) return [out1, out2];
  const out3 = hmacHash(H, tempKey, concatBytes(out2, Uint8Array.of(0x03)));
  return [out1, out2, out3];
}

// ---------------------------------------------------------------------------------------------
// Section 5.1: CipherState.
export class CipherState {
  constructor(cipher = CIPHER_CHACHAPOLY) {
    this.cipher = cipher;
    this.k = null; // "empty"
    this.n = 0n;
  }
  initializeKey(key) {
    this.k = key === null ? null : Uint8Array.from(key);
    this.n = 0n;
  }
  hasKey() {
    return this.k !== null;
  }
  setNonce(nonce) {
    this.n = BigInt(nonce);
  }
  encryptWithAd(ad, plaintext) {
    if (!this.hasKey()) return Uint8Array.from(plaintext);
    if (this.n >= MAX_NONCE) throw new Error('Noise: nonce exhausted');
    const ct = this.cipher.encrypt(this.k, this.n, ad, plaintext);
    this.n += 1n;
    return ct;
  }
  /** On authentication failure this throws and, as the spec requires, leaves n unchanged. */
  decryptWithAd(ad, ciphertext) {
    if (!this.hasKey()) return Uint8Array.from(ciphertext);
    if (this.n >= MAX_NONCE) throw new Error('Noise: nonce exhausted');
    const pt = this.cipher.decrypt(this.k, this.n, ad, ciphertext);
    this.n += 1n;
    return pt;
  }
  rekey() {
    this.k = this.cipher.rekey(this.k);
  }
}

// Section 5.2: SymmetricState.
export class SymmetricState {
  constructor(protocolName, hash, cipher = CIPHER_CHACHAPOLY) {
    // InitializeSymmetric(protocol_name)
    this.H = hash;
    const name = utf8ToBytes(protocolName);
    if (name.length <= hash.HASHLEN) {
      this.h = new Uint8Array(hash.HASHLEN); // zero-padded to HASHLEN
      this.h.set(name);
    } else {
      this.h = hash.hash(name);
    }
    this.ck = Uint8Array.from(this.h);
    this.cs = new CipherState(cipher);
    this.cs.initializeKey(null);
  }
  /** Keys used by the cipher are always 32 bytes: a 64-byte HASH output is truncated. */
  truncKey(k) {
    return this.H.HASHLEN === 64 ? k.slice(0, 32) : k;
  }
  mixKey(inputKeyMaterial) {
    const [ck, tempK] = hkdf(this.H, this.ck, inputKeyMaterial, 2);
    this.ck = ck;
    this.cs.initializeKey(this.truncKey(tempK));
  }
  mixHash(data) {
    this.h = this.H.hash(concatBytes(this.h, data));
  }
  /** For psk modes; unused by the supported patterns but part of section 5.2. */
  mixKeyAndHash(inputKeyMaterial) {
    const [ck, tempH, tempK] = hkdf(this.H, this.ck, inputKeyMaterial, 3);
    this.ck = ck;
    this.mixHash(tempH);
    this.cs.initializeKey(this.truncKey(tempK));
  }
  getHandshakeHash() {
    return Uint8Array.from(this.h);
  }
  encryptAndHash(plaintext) {
    const ciphertext = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }
  decryptAndHash(ciphertext) {
    const plaintext = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext); // hash the bytes as received, not the plaintext
    return plaintext;
  }
  split() {
    const [k1, k2] = hkdf(this.H, this.ck, EMPTY, 2);
    const c1 = new CipherState(this.cs.cipher);
    const c2 = new CipherState(this.cs.cipher);
    c1.initializeKey(this.truncKey(k1));
    c2.initializeKey(this.truncKey(k2));
    return [c1, c2];
  }
}

// ---------------------------------------------------------------------------------------------
// Section 7.5: interactive fundamental patterns. pre = [initiator pre-message, responder
// pre-message]; messages[i] is sent by the initiator when i is even, the responder when odd.
const P = (pre, ...messages) => ({ pre, messages });
export const PATTERNS = {
  NN: P([[], []], ['e'], ['e', 'ee']),
  NK: P([[], ['s']], ['e', 'es'], ['e', 'ee']),
  NX: P([[], []], ['e'], ['e', 'ee', 's', 'es']),
  XN: P([[], []], ['e'], ['e', 'ee'], ['s', 'se']),
  XK: P([[], ['s']], ['e', 'es'], ['e', 'ee'], ['s', 'se']),
  XX: P([[], []], ['e'], ['e', 'ee', 's', 'es'], ['s', 'se']),
  KN: P([['s'], []], ['e'], ['e', 'ee', 'se']),
  KK: P([['s'], ['s']], ['e', 'es', 'ss'], ['e', 'ee', 'se']),
  KX: P([['s'], []], ['e'], ['e', 'ee', 'se', 's', 'es']),
  IN: P([[], []], ['e', 's'], ['e', 'ee', 'se']),
  IK: P([[], ['s']], ['e', 'es', 's', 'ss'], ['e', 'ee', 'se']),
  IX: P([[], []], ['e', 's'], ['e', 'ee', 'se', 's', 'es']),
};
const DH_TOKENS = new Set(['ee', 'es', 'se', 'ss']);

/** HFS section 5: insert "e1" directly after the first "e", unless that message has a DH
 *  operation (after the "e"), then directly after the first such DH, so the KEM public key is
 *  encrypted; insert "ekem1" directly after the first "ee".
 *  KK is refused: the spec's own KKhfs table row (-> e, e1, es, ss) contradicts its rule (which
 *  gives -> e, es, e1, ss), so no interoperable choice exists. */
export function applyHfs(base, baseName = '') {
  if (baseName === 'KK') throw new Error('KKhfs is ambiguous in noise_hfs_spec rev 1; not supported');
  const messages = base.messages.map((m) => [...m]);
  const mi = messages.findIndex((m) => m.includes('e'));
  if (mi < 0) throw new Error('hfs: pattern has no "e"');
  const m = messages[mi];
  const ei = m.indexOf('e');
  const di = m.findIndex((t, i) => i > ei && DH_TOKENS.has(t));
  m.splice((di >= 0 ? di : ei) + 1, 0, 'e1');
  const ki = messages.findIndex((msg) => msg.includes('ee'));
  if (ki < 0) throw new Error('hfs: pattern has no "ee"');
  messages[ki].splice(messages[ki].indexOf('ee') + 1, 0, 'ekem1');
  // ekem1 must answer the other side's e1, later in the handshake.
  if (ki <= mi || ki % 2 === mi % 2) throw new Error('hfs: ekem1 does not follow the peer e1');
  return { pre: base.pre, messages };
}

/** "Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s" -> the objects above. */
export function parseProtocolName(protocolName) {
  const parts = protocolName.split('_');
  if (parts.length !== 5 || parts[0] !== 'Noise') throw new Error(`unsupported protocol ${protocolName}`);
  const [, patternPart, dhPart, cipherPart, hashPart] = parts;
  const pm = /^([NKXI][NKX])([a-z0-9+]*)$/.exec(patternPart);
  if (!pm || !PATTERNS[pm[1]]) throw new Error(`unsupported pattern ${patternPart}`);
  const modifiers = pm[2] ? pm[2].split('+') : [];
  if (modifiers.some((x) => x !== 'hfs')) throw new Error(`unsupported modifier in ${patternPart}`);
  const hfs = modifiers.includes('hfs');
  const [dhName, kemName, ...rest] = dhPart.split('+');
  if (dhName !== '25519' || rest.length) throw new Error(`unsupported DH ${dhPart}`);
  // HFS section 5: with "hfs" the DH section must name a KEM after a '+'; without it, must not.
  if (hfs !== (kemName !== undefined)) throw new Error(`hfs and KEM name must go together: ${protocolName}`);
  if (hfs && kemName !== 'MLKEM768') throw new Error(`unsupported KEM ${kemName}`);
  if (cipherPart !== 'ChaChaPoly') throw new Error(`unsupported cipher ${cipherPart}`);
  const hash = HASHES[hashPart];
  if (!hash) throw new Error(`unsupported hash ${hashPart}`);
  const pattern = hfs ? applyHfs(PATTERNS[pm[1]], pm[1]) : PATTERNS[pm[1]];
  return { protocolName, baseName: pm[1], hfs, pattern, dh: DH_25519, kem: hfs ? KEM_MLKEM768 : null, cipher: CIPHER_CHACHAPOLY, hash };
}

// ---------------------------------------------------------------------------------------------
// Section 5.3: HandshakeState.
export class HandshakeState {
  /**
   * Initialize(handshake_pattern, initiator, prologue, s, e, rs, re).
   * opts: protocolName, initiator (bool), prologue, s (32-byte static private key), rs (remote
   * static public key, for pre-messages). Test hooks (omit them in real use, then fresh
   * randomness is used): ephemeral (32-byte private key used by the "e" token), kemSeed (64-byte
   * d||z for "e1"), kemEncapsM (32-byte m for "ekem1").
   */
  constructor(opts) {
    const suite = parseProtocolName(opts.protocolName);
    this.suite = suite;
    this.initiator = !!opts.initiator;
    this.sym = new SymmetricState(suite.protocolName, suite.hash, suite.cipher);
    this.sym.mixHash(opts.prologue ?? EMPTY);
    this.s = opts.s ? suite.dh.generateKeypair(opts.s) : null;
    this.rs = opts.rs ? Uint8Array.from(opts.rs) : null;
    this.e = null;
    this.re = null;
    this.e1 = null; // own KEM key pair
    this.re1 = null; // peer's KEM public key
    this.fixed = { ephemeral: opts.ephemeral, kemSeed: opts.kemSeed, kemEncapsM: opts.kemEncapsM };
    // Pre-messages: hash the initiator's keys first, then the responder's, whoever we are.
    const [initPre, respPre] = suite.pattern.pre;
    for (const [tokens, mine] of [[initPre, this.initiator], [respPre, !this.initiator]]) {
      for (const t of tokens) {
        if (t !== 's') throw new Error(`unsupported pre-message token ${t}`);
        const key = mine ? this.s?.pub : this.rs;
        if (!key) throw new Error('pre-message needs a static key that was not given');
        this.sym.mixHash(key);
      }
    }
    this.messageIndex = 0;
    this.cipherStates = null;
  }

  get isFinished() {
    return this.messageIndex >= this.suite.pattern.messages.length;
  }
  /** True when the next handshake message is ours to write. */
  get isMyTurn() {
    return !this.isFinished && (this.messageIndex % 2 === 0) === this.initiator;
  }
  get handshakeHash() {
    return this.sym.getHandshakeHash();
  }
  get remoteStatic() {
    return this.rs;
  }

  /** The DH for es/se/ss depends on which side we are (section 5.3). */
  dhFor(token) {
    const { dh } = this.suite;
    const need = (k, what) => {
      if (!k) throw new Error(`token ${token}: missing ${what}`);
      return k;
    };
    switch (token) {
      case 'ee':
        return dh.dh(need(this.e, 'e'), need(this.re, 're'));
      case 'es':
        return this.initiator ? dh.dh(need(this.e, 'e'), need(this.rs, 'rs')) : dh.dh(need(this.s, 's'), need(this.re, 're'));
      case 'se':
        return this.initiator ? dh.dh(need(this.s, 's'), need(this.re, 're')) : dh.dh(need(this.e, 'e'), need(this.rs, 'rs'));
      case 'ss':
        return dh.dh(need(this.s, 's'), need(this.rs, 'rs'));
    }
    throw new Error(`not a DH token ${token}`);
  }

  nextPattern(writing) {
    if (this.isFinished) throw new Error('handshake already finished');
    if (writing !== this.isMyTurn) throw new Error(writing ? 'not our turn to write' : 'not our turn to read');
    return this.suite.pattern.messages[this.messageIndex++];
  }

  finishIfDone() {
    if (this.isFinished) this.cipherStates = this.sym.split();
    return this.cipherStates;
  }

  /** WriteMessage(payload): returns {message, cipherStates}; cipherStates = [c1, c2] (c1 for
   *  initiator->responder) after the last handshake message, otherwise null. */
  writeMessage(payload = EMPTY) {
    const { dh, kem } = this.suite;
    const out = [];
    for (const token of this.nextPattern(true)) {
      if (token === 'e') {
        this.e = dh.generateKeypair(this.fixed.ephemeral);
        out.push(this.e.pub);
        this.sym.mixHash(this.e.pub);
      } else if (token === 's') {
        out.push(this.sym.encryptAndHash(this.s.pub));
      } else if (token === 'e1') {
        // HFS: sent "as if it was a static DH public key", i.e. EncryptAndHash.
        this.e1 = kem.generateKeypair(this.fixed.kemSeed);
        out.push(this.sym.encryptAndHash(this.e1.pub));
      } else if (token === 'ekem1') {
        if (!this.re1) throw new Error('ekem1: no peer KEM public key');
        const { ciphertext, kemOutput } = kem.encapsulate(this.re1, this.fixed.kemEncapsM);
        out.push(this.sym.encryptAndHash(ciphertext)); // encrypted under the key before MixKey
        this.sym.mixKey(kemOutput);
      } else {
        this.sym.mixKey(this.dhFor(token));
      }
    }
    out.push(this.sym.encryptAndHash(payload));
    const message = concatBytes(...out);
    if (message.length > MAX_MESSAGE_LEN) throw new Error('Noise message too long');
    return { message, cipherStates: this.finishIfDone() };
  }

  /** ReadMessage(message): returns {payload, cipherStates}. Throws on any failure. */
  readMessage(message) {
    if (message.length > MAX_MESSAGE_LEN) throw new Error('Noise message too long');
    const { dh, kem } = this.suite;
    let off = 0;
    const take = (len, what) => {
      if (off + len > message.length) throw new Error(`Noise message too short (${what})`);
      const b = message.subarray(off, off + len);
      off += len;
      return b;
    };
    const tag = () => (this.sym.cs.hasKey() ? TAGLEN : 0);
    for (const token of this.nextPattern(false)) {
      if (token === 'e') {
        this.re = Uint8Array.from(take(dh.DHLEN, 'e'));
        this.sym.mixHash(this.re);
      } else if (token === 's') {
        this.rs = this.sym.decryptAndHash(take(dh.DHLEN + tag(), 's'));
      } else if (token === 'e1') {
        this.re1 = this.sym.decryptAndHash(take(kem.KEMPUBLICKEYLEN + tag(), 'e1'));
      } else if (token === 'ekem1') {
        if (!this.e1) throw new Error('ekem1: we sent no e1');
        const ciphertext = this.sym.decryptAndHash(take(kem.KEMCIPHERTEXTLEN + tag(), 'ekem1'));
        this.sym.mixKey(kem.decapsulate(this.e1, ciphertext));
      } else {
        this.sym.mixKey(this.dhFor(token));
      }
    }
    const payload = this.sym.decryptAndHash(message.subarray(off));
    return { payload, cipherStates: this.finishIfDone() };
  }
}

/** Which static keys each side needs for a pattern: {initS, respS, initRs, respRs}. initRs means
 *  the initiator must know the responder's static key beforehand (pre-message), and so on. */
export function keyNeeds(pattern) {
  const sends = (side) => pattern.messages.some((m, i) => i % 2 === side && m.includes('s'));
  const initPre = pattern.pre[0].includes('s');
  const respPre = pattern.pre[1].includes('s');
  return { initS: initPre || sends(0), respS: respPre || sends(1), initRs: respPre, respRs: initPre };
}

/** Which side sends e1 / ekem1 (0 = initiator, 1 = responder, -1 = none). */
export function kemRoles(pattern) {
  const sender = (tok) => {
    const i = pattern.messages.findIndex((m) => m.includes(tok));
    return i < 0 ? -1 : i % 2;
  };
  return { e1: sender('e1'), ekem1: sender('ekem1') };
}
