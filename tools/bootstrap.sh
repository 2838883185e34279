#!/usr/bin/env bash
# Sets up a Debian 12 machine to build and test qtcnode:
#   1. installs the Debian packages the build and the tests need (apt-get, as root);
#   2. provides Botan >= 3.6: the system's botan-3 if pkg-config finds one, otherwise Debian's
#      `botan3` source package (trixie) built once with a minimized module set into a cache
#      prefix outside the checkout, keyed by version and module list, and reused afterwards.
# Prints what it does. Prints the Botan prefix as the last line: `BOTAN_PREFIX=<dir>`.
#
# Environment:
#   QTC_CACHE_DIR   cache root for the Botan build (default /var/cache/qtcnode)
#   QTC_SKIP_APT=1  do not touch Debian packages (when they are known to be installed)
set -euo pipefail

log() { printf '[bootstrap] %s\n' "$*" >&2; }

CACHE_DIR=${QTC_CACHE_DIR:-/var/cache/qtcnode}
BOTAN_MIN_VERSION=3.6.0

# Packages for building the node, running its tests, and the real peers the tests talk to.
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config python3 dpkg-dev curl ca-certificates
  libcaf-dev libc-ares-dev libminiupnpc-dev prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev
  libcpp-httplib-dev
  libtoml11-dev doctest-dev liblmdb-dev zlib1g-dev
  python3-bitcoinlib   # independent Bitcoin serializer the codec is cross-checked against
  python3-dissononce   # independent Noise implementation (interop tests)
  openssl              # independent TLS 1.3 client and server (interop tests), `openssl speed`
  dnsmasq-base         # a real DNS server for the seeds (end-to-end tests, the regtest demo)
  clang-14 libclang-rt-14-dev   # libFuzzer targets
  nftables iproute2    # the NAT tests' routers: network namespaces translating with nftables
  coturn               # a real RFC 5780 STUN server for the NAT tests
  miniupnpd-nftables   # a real gateway (UPnP IGD, NAT-PMP, PCP) for the NAT tests
  prometheus           # a real Prometheus server and promtool (metrics lint, alert rule tests)
  tmux                 # a real terminal for `qtc-inspect top` (inspector e2e test)
)

# Botan modules the node uses (TLS 1.3 with the hybrid ML-KEM group, Noise primitives,
# post-quantum signatures), plus the SIMD providers without which ChaCha20 is ~20x slower.
BOTAN_MODULES="tls13,tls13_pqc,tls12,x25519,chacha20poly1305,blake2s,blake2,ml_kem,ml_dsa,slh_dsa_sha2,hkdf,hmac,sha2_32,sha2_64,sha3,ed25519,x509,system_rng,auto_rng,certstor_system,certstor_flatfile,aead,chacha_rng,ecdh,ecdsa,pem,gcm,aes,aes_ni,aes_vaes,chacha_simd32,chacha_avx2,chacha_avx512,simd,simd_avx2,simd_avx512,sha2_32_x86,sha2_32_bmi2,sha2_64_bmi2,ghash_cpu,keccak_perm_bmi2,siphash"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages: all ${#APT_PACKAGES[@]} present"
    return
  fi
  log "Debian packages: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Node.js runs the independent post-quantum peer of the interop tests (tests/interop/noble, audited
# @noble libraries from the npm registry, which need Node >= 20.19). Machines of this kind come
# with Node 20; Debian 12's own nodejs is 18, too old, so it is only a last resort that fails
# clearly rather than a silent substitute.
NODE_MIN_VERSION=20.19.0

check_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "Node.js: not found; installing Debian's nodejs and npm"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm >&2
  fi
  local v; v=$(node --version | sed 's/^v//')
  if ! version_ge "$v" "$NODE_MIN_VERSION"; then
    log "Node.js $v is older than $NODE_MIN_VERSION, which @noble/post-quantum (tests/interop/noble) needs"
    exit 1
  fi
  log "Node.js: $v, npm $(npm --version)"
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# The Debian mirror this machine's own apt configuration names (never hard-coded here).
debian_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' \
          /etc/apt/sources.list.d/*.sources | head -n1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
          /etc/apt/sources.list | head -n1)
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt/sources.list{,.d}"; exit 1; }
  printf '%s\n' "$uri"
}

build_botan() {
  local key prefix
  key=$(printf '%s' "$BOTAN_MODULES" | sha256sum | cut -c1-12)
  # The version is only known after the source is fetched; a prefix is keyed by module list and
  # carries the version in its stamp, so a cached build of any adequate version is reused.
  for prefix in "$CACHE_DIR"/botan-*-"$key"; do
    if [ -f "$prefix/.qtc-complete" ] && version_ge "$(cat "$prefix/.qtc-complete")" "$BOTAN_MIN_VERSION"; then
      log "Botan: reusing cached build $prefix (version $(cat "$prefix/.qtc-complete"))"
      BOTAN_PREFIX=$prefix
      return
    fi
  done

  work=$(mktemp -d "${TMPDIR:-/tmp}/qtc-botan.XXXXXX")
  chmod 755 "$work"   # apt's download user (_apt) must be able to write there
  trap 'rm -rf "$work"' EXIT
  local mirror; mirror=$(debian_mirror)
  log "Botan: fetching Debian's botan3 source package (suite trixie) into $work"
  mkdir -p "$work/apt/lists/partial" "$work/apt/sources.d"
  cat > "$work/apt/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
SRC
  local aptopts=(-o Dir::Etc::sourcelist="$work/apt/sources.list"
                 -o Dir::Etc::sourceparts="$work/apt/sources.d"
                 -o Dir::State::Lists="$work/apt/lists"
                 -o APT::Get::List-Cleanup=0
                 -o APT::Sandbox::User=root)  # a private temp dir: no need for _apt
  apt-get "${aptopts[@]}" update -qq >&2
  (cd "$work" && apt-get "${aptopts[@]}" source --download-only -qq botan3 >&2 \
     && dpkg-source -x --no-check ./botan3_*.dsc src >/dev/null)
  local version
  version=$(cd "$work/src" && python3 -c 'import re;t=open("src/build-data/version.txt").read();print(".".join(re.search(r"release_%s\s*=\s*(\d+)"%k,t).group(1) for k in ("major","minor","patch")))')
  version_ge "$version" "$BOTAN_MIN_VERSION" || { log "Botan source $version is older than $BOTAN_MIN_VERSION"; exit 1; }
  prefix="$CACHE_DIR/botan-$version-$key"
  log "Botan: building $version (modules: $BOTAN_MODULES) into $prefix; this takes a few minutes"
  # The compiler's output goes to a log; on failure its tail is shown.
  if ! (cd "$work/src" \
     && python3 ./configure.py --prefix="$prefix" --minimized-build --enable-modules="$BOTAN_MODULES" \
          --build-targets=shared,static --without-documentation \
     && make -j"$(nproc)" libs \
     && rm -rf "$prefix" && make install) >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    log "Botan: build failed (log above)"
    exit 1
  fi
  printf '%s\n' "$version" > "$prefix/.qtc-complete"
  BOTAN_PREFIX=$prefix
  log "Botan: installed $version into $prefix"
}

main() {
  install_packages
  check_node
  if pkg-config --exists "botan-3 >= $BOTAN_MIN_VERSION" 2>/dev/null; then
    BOTAN_PREFIX=$(pkg-config --variable=prefix botan-3)
    log "Botan: using the system's botan-3 $(pkg-config --modversion botan-3) at $BOTAN_PREFIX"
  else
    mkdir -p "$CACHE_DIR"
    build_botan
  fi
  printf 'BOTAN_PREFIX=%s\n' "$BOTAN_PREFIX"
}

main "$@"
