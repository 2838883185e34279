#include "runtime/io/upnp_client.hpp"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include <algorithm>
#include <map>
#include <utility>

namespace qtc {

namespace {

/// UPnP error codes this wrapper acts on (UPnP IGD WANIPConnection:1, section 2.4).
constexpr int upnp_no_such_entry = 714;
constexpr int upnp_only_permanent_leases = 725;

using devlist_ptr = std::unique_ptr<UPNPDev, decltype(&freeUPNPDevlist)>;

std::string code_text(int code) {
  const char* text = strupnperror(code);
  return std::to_string(code) + " " + (text != nullptr ? text : "(unknown)");
}

/// "UPnP <action> failed: UPnP error 718 ConflictInMappingEntry". Positive codes come from the
/// gateway; negative ones are miniupnpc's own (HTTP error, invalid response...).
std::string command_error(const std::string& action, int code) {
  return "UPnP " + action + " failed: " + (code > 0 ? "UPnP error " : "miniupnpc error ")
         + code_text(code);
}

std::string discover_error_text(int code) {
  switch (code) {
  case UPNPDISCOVER_SOCKET_ERROR:
    return "socket error";
  case UPNPDISCOVER_MEMORY_ERROR:
    return "out of memory";
  default:
    return "unknown error";
  }
}

/// miniupnpc copies SOAP arguments into the XML body without escaping, so a description with
/// '<' or '&' would corrupt the request (or inject elements). Keep a plain subset.
std::string safe_description(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() == 64)
      break;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == ' ' || c == '.' || c == '-' || c == '_' || c == ':' || c == '/';
    out.push_back(plain ? c : '_');
  }
  return out.empty() ? std::string{"qtc"} : out;
}

std::string describe(bool connected, const ip_bytes& external) {
  if (!connected)
    return "not connected (the gateway says its WAN link is down)";
  if (external == ip_bytes{})
    return "connected, external address unknown";
  if (classify(external) != ip_class::routable)
    return "connected, but its external address " + format_ip(external)
           + " is not public (another NAT beyond this gateway?)";
  return "connected, external address " + format_ip(external);
}

} // namespace

struct upnp_client::state {
  std::string multicast_if;
  UPNPUrls urls{};
  IGDdatas data{};
  upnp_gateway_info info;
  /// What this object mapped: external port -> (client, internal port), for has_port_mapping.
  std::map<std::uint16_t, std::pair<std::string, std::uint16_t>> ours;

  explicit state(std::string mif) : multicast_if(std::move(mif)) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    FreeUPNPUrls(&urls);
  }
  /// Frees the gateway's URLs (FreeUPNPUrls frees what miniupnpc allocated and nulls it; on
  /// zeroed URLs it does nothing) and forgets the gateway.
  void forget() {
    FreeUPNPUrls(&urls);
    data = IGDdatas{};
    info = upnp_gateway_info{};
    ours.clear();
  }
  const char* control() const {
    return urls.controlURL;
  }
  const char* service() const {
    return data.first.servicetype;
  }
};

upnp_client::upnp_client(std::string multicast_if)
    : s_(std::make_unique<state>(std::move(multicast_if))) {}
upnp_client::~upnp_client() = default;
upnp_client::upnp_client(upnp_client&&) noexcept = default;
upnp_client& upnp_client::operator=(upnp_client&&) noexcept = default;

const upnp_gateway_info& upnp_client::gateway() const {
  static const upnp_gateway_info none;
  return s_ ? s_->info : none;
}

bool upnp_client::require_gateway(std::string& error) const {
  if (s_ && !s_->info.control_url.empty())
    return true;
  error = "UPnP: no gateway (discovery has not found one)";
  return false;
}

bool upnp_client::discover(int timeout_ms, std::string& error) {
  if (!s_)
    s_ = std::make_unique<state>(std::string{});
  s_->forget();
  // The IGD types only, all sent at once (searchalltypes): upnpDiscover() would also search
  // upnp:rootdevice and wait the full delay for each of its four types in turn when nobody
  // answers (4 s at least), and every TV and printer that answers rootdevice would then have
  // its description fetched. IGD:2 devices answer IGD:1 searches.
  static const char* const types[] = {"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
                                      "urn:schemas-upnp-org:service:WANIPConnection:1",
                                      "urn:schemas-upnp-org:service:WANPPPConnection:1", nullptr};
  const char* mif = s_->multicast_if.empty() ? nullptr : s_->multicast_if.c_str();
  int err = UPNPDISCOVER_SUCCESS;
  devlist_ptr devices{upnpDiscoverDevices(types, std::max(timeout_ms, 0), mif, nullptr,
                                          UPNP_LOCAL_PORT_ANY, 0, 2, &err, 1),
                      &freeUPNPDevlist};
  if (!devices) {
    error = "UPnP discovery (SSDP M-SEARCH) found no gateway";
    error += err == UPNPDISCOVER_SUCCESS
                 ? " within " + std::to_string(std::max(timeout_ms, 1000)) + " ms"
                 : ": miniupnpc error " + std::to_string(err) + " " + discover_error_text(err);
    return false;
  }
  char lan[64] = {};
  int found = UPNP_GetValidIGD(devices.get(), &s_->urls, &s_->data, lan, sizeof(lan) - 1);
  return adopt(found, lan, error);
}

bool upnp_client::use_gateway_at(const std::string& root_desc_url, std::string& error) {
  if (!s_)
    s_ = std::make_unique<state>(std::string{});
  s_->forget();
  char lan[64] = {};
  if (UPNP_GetIGDFromUrl(root_desc_url.c_str(), &s_->urls, &s_->data, lan, sizeof(lan) - 1) != 1) {
    s_->forget();
    error = "UPnP: could not read the gateway description at " + root_desc_url;
    return false;
  }
  // UPNP_GetIGDFromUrl does not ask whether the link is up; 2 is GetValidIGD's "an IGD, not
  // known to be connected", which makes adopt() ask.
  return adopt(2, lan, error);
}

/// Takes the gateway UPNP_GetValidIGD chose. In 2.2.4 it returns 1 for a connected IGD with a
/// public external address, 2 for an IGD that is not connected *or* whose external address is
/// reserved (private, CGNAT), 3 for a UPnP device that is not an IGD, 0 for none, <0 on error.
bool upnp_client::adopt(int found, const char* lan_address, std::string& error) {
  if (found != 1 && found != 2) {
    s_->forget();
    if (found == 3)
      error = "UPnP: the device that answered is not an Internet Gateway Device";
    else if (found == 0)
      error = "UPnP: no gateway description could be read (UPNP_GetValidIGD returned 0)";
    else
      error = "UPnP: UPNP_GetValidIGD failed (" + std::to_string(found) + ")";
    return false;
  }
  if (s_->control() == nullptr || s_->service()[0] == '\0') {
    s_->forget();
    error = "UPnP: the gateway offers no WANIPConnection or WANPPPConnection service";
    return false;
  }
  auto& info = s_->info;
  info.control_url = s_->control();
  info.lan_address = lan_address;
  info.connected = found == 1 || UPNPIGD_IsConnected(&s_->urls, &s_->data) == 1;
  std::string ignored; // an IGD that will not tell its address can still map ports
  external_ip(ignored);
  info.status = describe(info.connected, info.external_ip);
  return true;
}

std::optional<ip_bytes> upnp_client::external_ip(std::string& error) {
  if (!require_gateway(error))
    return std::nullopt;
  char text[64] = {}; // miniupnpc writes at most 16 bytes
  int r = UPNP_GetExternalIPAddress(s_->control(), s_->service(), text);
  if (r != UPNPCOMMAND_SUCCESS) {
    error = command_error("GetExternalIPAddress", r);
    return std::nullopt;
  }
  auto ip = parse_ip(text);
  if (!ip || classify(*ip) == ip_class::unspecified) {
    error = "UPnP GetExternalIPAddress: the gateway has no usable external address ('"
            + safe_description(text) + "')";
    return std::nullopt;
  }
  s_->info.external_ip = *ip;
  return ip;
}

bool upnp_client::add_port_mapping(std::uint16_t external_port, const ip_bytes& internal_ip,
                                   std::uint16_t internal_port, std::uint32_t lease_seconds,
                                   const std::string& description, std::uint32_t& lease_granted,
                                   std::string& error) {
  if (!require_gateway(error))
    return false;
  if (!is_ipv4(internal_ip)) {
    error = "UPnP maps IPv4 only, not " + format_ip(internal_ip);
    return false;
  }
  auto ext = std::to_string(external_port);
  auto in = std::to_string(internal_port);
  auto client = format_ip(internal_ip);
  auto desc = safe_description(description);
  auto add = [&](std::uint32_t lease) {
    return UPNP_AddPortMapping(s_->control(), s_->service(), ext.c_str(), in.c_str(),
                               client.c_str(), desc.c_str(), "TCP", nullptr,
                               std::to_string(lease).c_str());
  };
  auto action = "AddPortMapping TCP " + ext + " -> " + client + ":" + in;
  lease_granted = lease_seconds;
  int r = add(lease_seconds);
  if (r == upnp_only_permanent_leases && lease_seconds != 0) {
    // Some gateways keep mappings forever or not at all. A permanent one still serves; the
    // mapper deletes it when it stops, and has_port_mapping notices when it disappears.
    lease_granted = 0;
    action += " (permanent, after " + code_text(r) + ")";
    r = add(0);
  }
  if (r != UPNPCOMMAND_SUCCESS) {
    error = command_error(action, r);
    return false;
  }
  s_->ours[external_port] = {client, internal_port};
  return true;
}

std::optional<bool> upnp_client::has_port_mapping(std::uint16_t external_port, std::string& error) {
  if (!require_gateway(error))
    return std::nullopt;
  auto ext = std::to_string(external_port);
  // miniupnpc writes at most 16, 6, 80, 4 and 16 bytes into these.
  char client[64] = {}, port[16] = {}, desc[128] = {}, enabled[16] = {}, lease[32] = {};
  int r = UPNP_GetSpecificPortMappingEntry(s_->control(), s_->service(), ext.c_str(), "TCP",
                                           nullptr, client, port, desc, enabled, lease);
  if (r == upnp_no_such_entry)
    return false;
  if (r != UPNPCOMMAND_SUCCESS) {
    error = command_error("GetSpecificPortMappingEntry TCP " + ext, r);
    return std::nullopt;
  }
  if (std::string{enabled} == "0")
    return false;
  auto it = s_->ours.find(external_port);
  if (it == s_->ours.end())
    return std::string{client} == s_->info.lan_address;
  return std::string{client} == it->second.first
         && std::string{port} == std::to_string(it->second.second);
}

bool upnp_client::delete_port_mapping(std::uint16_t external_port, std::string& error) {
  if (!require_gateway(error))
    return false;
  auto ext = std::to_string(external_port);
  int r = UPNP_DeletePortMapping(s_->control(), s_->service(), ext.c_str(), "TCP", nullptr);
  if (r != UPNPCOMMAND_SUCCESS && r != upnp_no_such_entry) {
    error = command_error("DeletePortMapping TCP " + ext, r);
    return false;
  }
  s_->ours.erase(external_port);
  return true;
}

} // namespace qtc
