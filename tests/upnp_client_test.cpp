// The UPnP client against a stand-in gateway on loopback, through miniupnpc's real SSDP, HTTP
// and SOAP code: discovery (and its failure, within its timeout, when nobody answers), the
// external address, and adding, checking and deleting a mapping, including the 725 retry that
// a real miniupnpd never asks for. The stand-in speaks just enough UPnP for miniupnpc; the
// network-namespace test with a real miniupnpd covers a real gateway.
#include "runtime/io/upnp_client.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include <poll.h>
#include <unistd.h>

using namespace qtc;

namespace {

using clock_type = std::chrono::steady_clock;

const char* wanip_service = "urn:schemas-upnp-org:service:WANIPConnection:1";

std::string root_description() {
  return R"(<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>stand-in gateway</friendlyName>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId><controlURL>/ctl/CmnIfCfg</controlURL>
<eventSubURL>/evt/CmnIfCfg</eventSubURL><SCPDURL>/WANCfg.xml</SCPDURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>
)";
}

std::string soap_envelope(const std::string& body) {
  return R"(<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" )"
         R"(s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>)"
         + body + "</s:Body></s:Envelope>\r\n";
}

std::string soap_fault(int code, const std::string& text) {
  return soap_envelope(
      "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError"
      "</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
      "<errorCode>"
      + std::to_string(code) + "</errorCode><errorDescription>" + text
      + "</errorDescription></UPnPError></detail></s:Fault>");
}

/// The text of <name>...</name> in a SOAP request ("" if absent).
std::string element(const std::string& xml, const std::string& name) {
  auto open = xml.find("<" + name + ">");
  if (open == std::string::npos)
    return {};
  open += name.size() + 2;
  auto close = xml.find("</" + name + ">", open);
  return close == std::string::npos ? std::string{} : xml.substr(open, close - open);
}

/// A stand-in Internet Gateway Device on 127.0.0.1: HTTP for its description and SOAP
/// actions, and (optionally) an SSDP responder on the loopback multicast group. One thread
/// serves both, one request at a time, as miniupnpc sends them.
class fake_igd {
public:
  struct mapping {
    std::string client, port, lease, description;
    std::string enabled = "1";
  };

  explicit fake_igd(bool ssdp);
  ~fake_igd();
  fake_igd(const fake_igd&) = delete;
  fake_igd& operator=(const fake_igd&) = delete;

  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::string root_url() const {
    return base_url() + "/rootDesc.xml";
  }

  // The gateway's behaviour and what it saw, guarded by mutex_.
  std::mutex mutex_;
  std::string external_ip = "1.2.3.4";
  std::string link_status = "Connected";
  bool permanent_only = false;
  std::map<std::string, mapping> mappings; ///< by external port
  std::vector<std::string> leases_asked;
  int ssdp_answers = 0;

private:
  void run();
  void serve_http(int fd);
  void answer_ssdp();
  std::string soap(const std::string& action, const std::string& body, int& status);
  std::string add_mapping(const std::string& body, int& status);

  int http_fd_ = -1;
  int ssdp_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int open_ssdp_listener() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  int one = 1;
  // Other SSDP listeners on this host (minissdpd) share the port the same way.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(1900);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  INFO("bind 0.0.0.0:1900: " << std::strerror(errno));
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ip_mreq group{};
  ::inet_pton(AF_INET, "239.255.255.250", &group.imr_multiaddr);
  ::inet_pton(AF_INET, "127.0.0.1", &group.imr_interface);
  INFO("join 239.255.255.250 on lo: " << std::strerror(errno));
  REQUIRE(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof(group)) == 0);
  return fd;
}

fake_igd::fake_igd(bool ssdp) {
  http_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(http_fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(http_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(http_fd_, 8) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(http_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  if (ssdp)
    ssdp_fd_ = open_ssdp_listener();
  thread_ = std::thread([this] { run(); });
}

fake_igd::~fake_igd() {
  stop_ = true;
  thread_.join();
  ::close(http_fd_);
  if (ssdp_fd_ >= 0)
    ::close(ssdp_fd_);
}

void fake_igd::run() {
  while (!stop_) {
    pollfd fds[2] = {{http_fd_, POLLIN, 0}, {ssdp_fd_, POLLIN, 0}};
    if (::poll(fds, ssdp_fd_ >= 0 ? 2 : 1, 20) <= 0)
      continue;
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(http_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        serve_http(fd);
        ::close(fd);
      }
    }
    if (ssdp_fd_ >= 0 && (fds[1].revents & POLLIN))
      answer_ssdp();
  }
}

void fake_igd::answer_ssdp() {
  char buf[1500];
  sockaddr_in from{};
  socklen_t from_len = sizeof(from);
  auto n = ::recvfrom(ssdp_fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  if (n <= 0)
    return;
  // Only the discovering test's client (on 127.0.0.1) gets an answer: ctest runs cases in
  // parallel, and the no-answer case searches from 127.0.0.3 at the same time.
  if (from.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
    return;
  std::string request(buf, static_cast<std::size_t>(n));
  auto st_at = request.find("\r\nST: ");
  if (request.rfind("M-SEARCH", 0) != 0 || st_at == std::string::npos)
    return;
  auto st = request.substr(st_at + 6, request.find("\r\n", st_at + 2) - st_at - 6);
  std::string reply = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nEXT:\r\nST: " + st
                      + "\r\nUSN: uuid:00000000-0000-0000-0000-000000000001::" + st
                      + "\r\nSERVER: stand-in UPnP/1.1 test/1\r\nLOCATION: " + root_url()
                      + "\r\n\r\n";
  ::sendto(ssdp_fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  std::lock_guard lock(mutex_);
  ++ssdp_answers;
}

/// Reads one HTTP request (headers, then Content-Length bytes) and answers it.
void fake_igd::serve_http(int fd) {
  std::string request;
  char buf[4096];
  auto deadline = clock_type::now() + std::chrono::seconds(2);
  auto complete = [&] {
    auto end = request.find("\r\n\r\n");
    if (end == std::string::npos)
      return false;
    auto cl = request.substr(0, end).find("Content-Length: "); // as miniupnpc spells it
    std::size_t body = cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
    return request.size() >= end + 4 + body;
  };
  while (!complete() && clock_type::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      return;
    request.append(buf, static_cast<std::size_t>(n));
  }
  int status = 200;
  std::string body;
  if (request.rfind("GET /rootDesc.xml ", 0) == 0) {
    body = root_description();
  } else {
    auto at = request.find('#');
    auto action =
        at == std::string::npos ? "" : request.substr(at + 1, request.find('"', at) - at - 1);
    body = soap(action, request.substr(request.find("\r\n\r\n") + 4), status);
  }
  std::string response = "HTTP/1.1 " + std::to_string(status)
                         + (status == 200 ? " OK" : " Internal Server Error")
                         + "\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nConnection: close\r\n"
                         + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

std::string fake_igd::add_mapping(const std::string& body, int& status) {
  auto ext = element(body, "NewExternalPort");
  mapping m{element(body, "NewInternalClient"), element(body, "NewInternalPort"),
            element(body, "NewLeaseDuration"), element(body, "NewPortMappingDescription")};
  leases_asked.push_back(m.lease);
  status = 500;
  if (permanent_only && m.lease != "0")
    return soap_fault(725, "OnlyPermanentLeasesSupported");
  auto it = mappings.find(ext);
  if (it != mappings.end() && it->second.client != m.client)
    return soap_fault(718, "ConflictInMappingEntry");
  mappings[ext] = m;
  status = 200;
  return soap_envelope("<u:AddPortMappingResponse xmlns:u=\"" + std::string{wanip_service}
                       + "\"/>");
}

std::string fake_igd::soap(const std::string& action, const std::string& body, int& status) {
  std::lock_guard lock(mutex_);
  auto respond = [&](const std::string& args) {
    return soap_envelope("<u:" + action + "Response xmlns:u=\"" + wanip_service + "\">" + args
                         + "</u:" + action + "Response>");
  };
  status = 200;
  if (action == "GetStatusInfo")
    return respond("<NewConnectionStatus>" + link_status + "</NewConnectionStatus>"
                   + "<NewLastConnectionError>ERROR_NONE</NewLastConnectionError>"
                   + "<NewUptime>100</NewUptime>");
  if (action == "GetExternalIPAddress")
    return respond("<NewExternalIPAddress>" + external_ip + "</NewExternalIPAddress>");
  if (action == "AddPortMapping")
    return add_mapping(body, status);
  auto it = mappings.find(element(body, "NewExternalPort"));
  if (action == "GetSpecificPortMappingEntry" && it != mappings.end())
    return respond("<NewInternalPort>" + it->second.port + "</NewInternalPort><NewInternalClient>"
                   + it->second.client + "</NewInternalClient><NewEnabled>" + it->second.enabled
                   + "</NewEnabled>" + "<NewPortMappingDescription>" + it->second.description
                   + "</NewPortMappingDescription><NewLeaseDuration>" + it->second.lease
                   + "</NewLeaseDuration>");
  if (action == "DeletePortMapping" && it != mappings.end()) {
    mappings.erase(it);
    return respond("");
  }
  status = 500;
  if (action == "GetSpecificPortMappingEntry" || action == "DeletePortMapping")
    return soap_fault(714, "NoSuchEntryInArray");
  return soap_fault(401, "Invalid Action");
}

/// A loopback port with nothing listening (bound, then released).
std::uint16_t unused_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const ip_bytes loopback4 = ipv4(127, 0, 0, 1);

} // namespace

TEST_SUITE_BEGIN("nat");

TEST_CASE("upnp client: every call fails cleanly before a gateway is known") {
  upnp_client c;
  std::string error;
  std::uint32_t lease = 7;
  CHECK_FALSE(c.external_ip(error));
  CHECK(contains(error, "no gateway"));
  error.clear();
  CHECK_FALSE(c.add_port_mapping(8333, loopback4, 8333, 60, "x", lease, error));
  CHECK(contains(error, "no gateway"));
  error.clear();
  CHECK_FALSE(c.has_port_mapping(8333, error));
  CHECK(contains(error, "no gateway"));
  error.clear();
  CHECK_FALSE(c.delete_port_mapping(8333, error));
  CHECK(contains(error, "no gateway"));
  CHECK(c.gateway().control_url.empty());
}

TEST_CASE("upnp client: discovery with nobody answering fails within its timeout") {
  // SSDP goes out on loopback only, where nothing answers M-SEARCH: the stand-in gateway of
  // the next case, if it runs at the same time, answers 127.0.0.1 only.
  upnp_client c("127.0.0.3");
  for (int timeout_ms : {200, 1500}) {
    std::string error;
    auto start = clock_type::now();
    CHECK_FALSE(c.discover(timeout_ms, error));
    auto took = clock_type::now() - start;
    INFO(error);
    CHECK(contains(error, "UPnP discovery"));
    CHECK(contains(error, "found no gateway"));
    // miniupnpc waits whole seconds, at least one; plain upnpDiscover() would take four times.
    CHECK(took < std::chrono::milliseconds(std::max(timeout_ms, 1000) + 700));
    CHECK(took >= std::chrono::milliseconds(std::max(timeout_ms, 1000) - 50));
  }
}

TEST_CASE("upnp client: discovers a gateway on loopback over SSDP") {
  fake_igd igd(true);
  upnp_client c("127.0.0.1");
  std::string error;
  auto start = clock_type::now();
  REQUIRE_MESSAGE(c.discover(1000, error), error);
  CHECK(clock_type::now() - start < std::chrono::milliseconds(2500));
  auto& g = c.gateway();
  CHECK(g.control_url == igd.base_url() + "/ctl/IPConn");
  CHECK(g.lan_address == "127.0.0.1");
  CHECK(g.connected);
  CHECK(g.external_ip == ipv4(1, 2, 3, 4));
  CHECK(g.status == "connected, external address 1.2.3.4");
  std::lock_guard lock(igd.mutex_);
  CHECK(igd.ssdp_answers >= 1);
}

TEST_CASE("upnp client: a description URL that does not answer is an error naming it") {
  upnp_client c;
  std::string error;
  auto url = "http://127.0.0.1:" + std::to_string(unused_tcp_port()) + "/rootDesc.xml";
  CHECK_FALSE(c.use_gateway_at(url, error));
  CHECK(contains(error, url));
  CHECK(c.gateway().control_url.empty());
}

TEST_CASE("upnp client: maps, checks and deletes a port") {
  fake_igd igd(false);
  upnp_client c;
  std::string error;
  REQUIRE_MESSAGE(c.use_gateway_at(igd.root_url(), error), error);
  CHECK(c.gateway().connected);
  CHECK(c.gateway().lan_address == "127.0.0.1");

  std::uint32_t lease = 0;
  REQUIRE_MESSAGE(c.add_port_mapping(8333, loopback4, 18333, 3600, "qtc node", lease, error),
                  error);
  CHECK(lease == 3600);
  {
    std::lock_guard lock(igd.mutex_);
    REQUIRE(igd.mappings.count("8333") == 1);
    auto& m = igd.mappings["8333"];
    CHECK(m.client == "127.0.0.1");
    CHECK(m.port == "18333");
    CHECK(m.lease == "3600");
    CHECK(m.description == "qtc node");
  }
  CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{true});
  CHECK(c.has_port_mapping(8334, error) == std::optional<bool>{false});
  CHECK(c.delete_port_mapping(8333, error));
  CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{false});
  CHECK(c.delete_port_mapping(8333, error)); // already gone: 714 counts as deleted
}

TEST_CASE("upnp client: a gateway that only keeps permanent mappings gets lease 0") {
  fake_igd igd(false);
  {
    std::lock_guard lock(igd.mutex_);
    igd.permanent_only = true;
  }
  upnp_client c;
  std::string error;
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  std::uint32_t lease = 99;
  REQUIRE_MESSAGE(c.add_port_mapping(8333, loopback4, 8333, 3600, "qtc", lease, error), error);
  CHECK(lease == 0);
  std::lock_guard lock(igd.mutex_);
  CHECK(igd.leases_asked == std::vector<std::string>{"3600", "0"});
}

TEST_CASE("upnp client: a mapping held by another host is a conflict, and not ours") {
  fake_igd igd(false);
  {
    std::lock_guard lock(igd.mutex_);
    igd.mappings["8333"] = {"127.0.0.2", "8333", "0", "someone else"};
  }
  upnp_client c;
  std::string error;
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  std::uint32_t lease = 0;
  CHECK_FALSE(c.add_port_mapping(8333, loopback4, 8333, 3600, "qtc", lease, error));
  INFO(error);
  CHECK(contains(error, "AddPortMapping TCP 8333 -> 127.0.0.1:8333"));
  CHECK(contains(error, "718 ConflictInMappingEntry"));
  CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{false});
}

TEST_CASE("upnp client: a mapping that now points elsewhere is no longer ours") {
  fake_igd igd(false);
  upnp_client c;
  std::string error;
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  std::uint32_t lease = 0;
  REQUIRE(c.add_port_mapping(8333, loopback4, 18333, 3600, "qtc", lease, error));
  CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{true});
  // The router restarted and another host (or another port of ours) took the external port.
  for (auto [client, port] : {std::pair{"127.0.0.2", "18333"}, std::pair{"127.0.0.1", "8333"}}) {
    {
      std::lock_guard lock(igd.mutex_);
      igd.mappings["8333"].client = client;
      igd.mappings["8333"].port = port;
    }
    CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{false});
  }
  // Ours again, but switched off on the router's page.
  {
    std::lock_guard lock(igd.mutex_);
    igd.mappings["8333"] = {"127.0.0.1", "18333", "3600", "qtc", "0"};
  }
  CHECK(c.has_port_mapping(8333, error) == std::optional<bool>{false});
}

TEST_CASE("upnp client: the description cannot break the SOAP request") {
  fake_igd igd(false);
  upnp_client c;
  std::string error;
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  std::uint32_t lease = 0;
  REQUIRE_MESSAGE(c.add_port_mapping(8333, loopback4, 8333, 60,
                                     "</NewPortMappingDescription><x>&amp;" + std::string(200, 'y'),
                                     lease, error),
                  error);
  std::lock_guard lock(igd.mutex_);
  auto& desc = igd.mappings["8333"].description;
  CHECK(desc.size() == 64);
  CHECK(desc.rfind("_/NewPortMappingDescription__x__amp_yyy", 0) == 0);
}

TEST_CASE("upnp client: a gateway behind another NAT, or with its link down, says so") {
  fake_igd igd(false);
  {
    std::lock_guard lock(igd.mutex_);
    igd.external_ip = "100.64.1.2";
  }
  upnp_client c;
  std::string error;
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  CHECK(c.gateway().connected);
  CHECK(c.gateway().external_ip == ipv4(100, 64, 1, 2));
  CHECK(contains(c.gateway().status, "100.64.1.2 is not public"));

  {
    std::lock_guard lock(igd.mutex_);
    igd.link_status = "Disconnected";
    igd.external_ip = "0.0.0.0";
  }
  REQUIRE(c.use_gateway_at(igd.root_url(), error));
  CHECK_FALSE(c.gateway().connected);
  CHECK(contains(c.gateway().status, "not connected"));
  CHECK_FALSE(c.external_ip(error));
  CHECK(contains(error, "no usable external address ('0.0.0.0')"));
}

TEST_CASE("upnp client: a gateway that went away is an error, not a hang") {
  upnp_client c;
  std::string error;
  {
    fake_igd igd(false);
    REQUIRE(c.use_gateway_at(igd.root_url(), error));
  }
  auto start = clock_type::now();
  CHECK_FALSE(c.has_port_mapping(8333, error));
  CHECK(clock_type::now() - start < std::chrono::seconds(1));
  CHECK(contains(error, "GetSpecificPortMappingEntry TCP 8333 failed: miniupnpc error"));
}

TEST_SUITE_END();
