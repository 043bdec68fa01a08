// Self-test of the probed test harness: PKI, processes, nginx and the fault server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness/fault_server.h"
#include "tests/harness/nginx.h"
#include "tests/harness/pki.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

namespace probed::testing {
namespace {

using namespace std::chrono_literals;

struct Exchange {
  std::string data;
  int error = 0;  // errno that ended the read (0 = clean EOF)
  bool timed_out = false;
};

// Connects to 127.0.0.1:port, sends `request`, reads until EOF, error or `timeout`.
Exchange talk(int port, const std::string& request, std::chrono::milliseconds timeout = 5s) {
  Exchange ex;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (!request.empty()) {
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      ex.timed_out = true;
      break;
    }
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      ex.data.append(buf, static_cast<size_t>(n));
    } else {
      ex.error = n == 0 ? 0 : errno;
      break;
    }
  }
  ::close(fd);
  return ex;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

std::string run(std::vector<std::string> argv, int* code) {
  return Process::run_capture(std::move(argv), code, 60s);
}

// curl with proxies disabled; returns the output, *code = curl's exit code.
std::string curl(std::vector<std::string> args, int* code) {
  std::vector<std::string> argv{"curl", "-sS", "--noproxy", "*", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, code);
}

TEST_CASE("harness: ports and temp dirs", "[harness]") {
  int p = free_port();
  CHECK(p > 0);
  CHECK(p < 65536);
  CHECK_FALSE(wait_for_tcp("127.0.0.1", p, 100ms));
  // Never the same port twice in one process, though the kernel may offer one again once freed
  // (servers of one nginx config sharing a port would answer for each other).
  std::set<int> seen{p};
  for (int i = 0; i < 3000; ++i) {
    int q = free_port();
    INFO("port " << q << " after " << i << " calls");
    REQUIRE(seen.insert(q).second);
  }
  std::string d;
  {
    TempDir dir("probed-selftest-");
    d = dir.path();
    write_file(dir.file("a.txt"), "abc");
    CHECK(read_file(dir.file("a.txt")) == "abc");
  }
  CHECK(read_file(d + "/a.txt").empty());
  CHECK(::access(d.c_str(), F_OK) != 0);
}

TEST_CASE("harness: process spawn, capture, stop and crash detection", "[harness]") {
  int code = 0;
  CHECK(run({"sh", "-c", "echo out; echo err >&2; exit 3"}, &code) == "out\nerr\n");
  CHECK(code == 3);
  CHECK_THROWS(Process::spawn({"/nonexistent/binary"}));

  Process::run_capture({"sleep", "30"}, &code, 1s);
  CHECK(code == -1);

  TempDir dir("probed-selftest-");
  ProcessOptions opts;
  opts.stdout_path = dir.file("out.txt");
  opts.env = {"PROBED_SELFTEST_VAR=v4lue"};
  opts.cwd = dir.path();
  Process p = Process::spawn({"sh", "-c", "echo \"$PROBED_SELFTEST_VAR\"; pwd"}, opts);
  CHECK(p.wait_exit(10s) == 0);
  CHECK(read_file(dir.file("out.txt")) == "v4lue\n" + dir.path() + "\n");

  Process sleeper = Process::spawn({"sleep", "30"});
  CHECK(sleeper.running());
  int status = sleeper.stop();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK_FALSE(sleeper.crashed());

  Process moved = Process::spawn({"sleep", "30"});
  Process target = std::move(moved);
  CHECK(moved.pid() == -1);
  CHECK(target.running());
  target.signal(SIGINT);
  CHECK(target.wait_exit(5s) == 128 + SIGINT);
  CHECK_FALSE(target.crashed());

  std::fprintf(stderr, "[selftest] an EXPECTED crash report for 'sh' (SIGABRT) follows:\n");
  Process crasher = Process::spawn({"sh", "-c", "kill -ABRT $$"});
  CHECK(crasher.wait_exit(10s) == 128 + SIGABRT);
  CHECK(crasher.crashed());
}

TEST_CASE("harness: pki chain verifies with openssl", "[harness]") {
  TempDir dir("probed-selftest-pki-");
  Pki pki(dir.path() + "/pki");
  StandardCerts certs = make_standard_certs(pki);
  int code = -1;
  auto verify = [&](const IssuedCert& c, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"openssl",     "verify",     "-CAfile",
                                  pki.ca_path(), "-untrusted", c.chain_path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(c.cert_path);
    return run(argv, &code);
  };
  std::string out = verify(certs.valid, {"-purpose", "sslserver", "-verify_hostname", "localhost",
                                         "-verify_ip", "127.0.0.1"});
  CHECK(code == 0);
  CHECK(out.find(": OK") != std::string::npos);
  verify(certs.valid, {"-verify_ip", "::1"});
  CHECK(code == 0);
  verify(certs.expiring_3d);
  CHECK(code == 0);
  out = verify(certs.expired);
  CHECK(code != 0);
  CHECK(out.find("certificate has expired") != std::string::npos);
  out = verify(certs.not_yet_valid);
  CHECK(code != 0);
  CHECK(out.find("not yet valid") != std::string::npos);
  verify(certs.wrong_host);
  CHECK(code == 0);
  out = verify(certs.wrong_host, {"-verify_hostname", "localhost"});
  CHECK(code != 0);
  CHECK(out.find("hostname mismatch") != std::string::npos);
  out = verify(certs.self_signed);
  CHECK(code != 0);
  CHECK(out.find("self-signed") != std::string::npos);
  verify(certs.client, {"-purpose", "sslclient"});
  CHECK(code == 0);
  verify(certs.client, {"-purpose", "sslserver"});
  CHECK(code != 0);
  verify(certs.intermediate_expiring_first);
  CHECK(code == 0);
  out = verify(certs.intermediate_expiring_first,
               {"-attime", std::to_string(::time(nullptr) + 3 * 86400)});
  CHECK(code != 0);
  CHECK(out.find("certificate has expired") != std::string::npos);

  out = run({"openssl", "x509", "-noout", "-enddate", "-in", certs.expired.cert_path}, &code);
  CHECK(code == 0);
  CHECK(out.rfind("notAfter=", 0) == 0);
  out = run({"openssl", "x509", "-noout", "-checkend", "0", "-in", certs.expired.cert_path}, &code);
  CHECK(code == 1);  // "Certificate will expire"
  out = run({"openssl", "x509", "-noout", "-text", "-in", certs.valid.cert_path}, &code);
  CHECK(out.find("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1") !=
        std::string::npos);
  CHECK(out.find("TLS Web Server Authentication") != std::string::npos);
  CHECK(out.find("O = probed tests, CN = localhost") != std::string::npos);
  CHECK(out.find("X509v3 Authority Key Identifier") != std::string::npos);
}

TEST_CASE("harness: nginx serves plain, TLS and mTLS", "[harness]") {
  TempDir dir("probed-selftest-nginx-");
  Pki pki(dir.path() + "/pki");
  StandardCerts certs = make_standard_certs(pki);
  NginxServer plain{.name = "plain"};
  plain.extra_locations = "    location = /custom { return 200 \"custom\\n\"; }\n";
  NginxServer tls{.name = "tls",
                  .tls = true,
                  .cert_chain_path = certs.valid.chain_path,
                  .key_path = certs.valid.key_path};
  NginxServer mtls = tls;
  mtls.name = "mtls";
  mtls.client_ca_path = pki.ca_path();
  NginxServer old_tls = tls;
  old_tls.name = "tls12";
  old_tls.ssl_protocols = "TLSv1.2";
  Nginx nginx({plain, tls, mtls, old_tls});
  INFO(nginx.error_log_content());

  int code = -1;
  size_t lines_before = nginx.access_log_lines();
  std::string out = curl({"-i", nginx.url("plain", "/healthz")}, &code);
  CHECK(code == 0);
  CHECK(out.find("HTTP/1.1 200 OK") == 0);
  CHECK(out.find("Content-Type: application/json") != std::string::npos);
  CHECK(out.find(R"({"status":"up","items":[{"sku":"A1"}]})") != std::string::npos);
  CHECK(curl({nginx.url("plain")}, &code) == "hello from nginx\n");
  CHECK(curl({nginx.url("plain", "custom")}, &code) == "custom\n");

  const std::string port = std::to_string(nginx.port("tls"));
  out = curl({"--cacert", pki.ca_path(), "--resolve", "localhost:" + port + ":127.0.0.1",
              "https://localhost:" + port + "/healthz"},
             &code);
  CHECK(code == 0);
  CHECK(out == R"({"status":"up","items":[{"sku":"A1"}]})");
  curl({"--cacert", pki.ca_path(), nginx.url("tls", "/healthz")}, &code);  // IP SAN
  CHECK(code == 0);
  curl({nginx.url("tls", "/healthz")}, &code);  // not in the system trust store
  CHECK(code == 60);

  auto status_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "/dev/null", "-w", "%{http_code}"});
    return curl(args, &code);
  };
  CHECK(status_of({nginx.url("plain", "/status/418")}) == "418");
  CHECK(status_of({nginx.url("plain", "/status/503")}) == "503");
  CHECK(status_of({nginx.url("plain", "/nope")}) == "404");
  CHECK(status_of({nginx.url("plain", "/auth-basic")}) == "401");
  CHECK(status_of({"-u", "probe:wrong", nginx.url("plain", "/auth-basic")}) == "401");
  CHECK(curl({"-u", "probe:s3cret-pw", nginx.url("plain", "/auth-basic")}, &code) == "auth ok\n");
  CHECK(status_of({nginx.url("plain", "/auth-bearer")}) == "401");
  CHECK(curl({"-H", "Authorization: Bearer tok3n-value", nginx.url("plain", "/auth-bearer")},
             &code) == "bearer ok\n");
  CHECK(curl({"-H", "X-Probe: abc", nginx.url("plain", "/echo-headers")}, &code) ==
        "x-probe=abc\n");
  CHECK(curl({"-X", "POST", "-d", "x=1", nginx.url("plain", "/method")}, &code) == "method=POST\n");
  CHECK(curl({"-L", nginx.url("plain", "/redirect")}, &code).find("\"up\"") != std::string::npos);
  CHECK(curl({"-L", nginx.url("plain", "/redirect-chain/5")}, &code) == "end\n");
  curl({"-L", "--max-redirs", "4", nginx.url("plain", "/redirect-chain/5")}, &code);
  CHECK(code == 47);  // too many redirects
  curl({"-L", "--max-redirs", "10", nginx.url("plain", "/redirect-loop")}, &code);
  CHECK(code == 47);
  out = curl({"-i", nginx.url("plain", "/redirect-ftp")}, &code);
  CHECK(out.find("Location: ftp://127.0.0.1/x") != std::string::npos);
  CHECK(curl({"-o", "/dev/null", "-w", "%{size_download}", nginx.url("plain", "/big")}, &code) ==
        "8388608");

  // mTLS: without a client cert nginx answers 400, with the client cert 200.
  const std::string mport = std::to_string(nginx.port("mtls"));
  CHECK(status_of({"--cacert", pki.ca_path(), nginx.url("mtls", "/healthz")}) == "400");
  CHECK(status_of({"--cacert", pki.ca_path(), "--cert", certs.client.chain_path, "--key",
                   certs.client.key_path, nginx.url("mtls", "/healthz")}) == "200");
  // TLS 1.2 only server refuses a TLS 1.3-only client.
  curl({"--cacert", pki.ca_path(), "--tlsv1.3", nginx.url("tls12", "/")}, &code);
  CHECK(code == 35);
  CHECK(status_of({"--cacert", pki.ca_path(), nginx.url("tls12", "/")}) == "200");

  CHECK(nginx.access_log_lines() > lines_before + 20);
  std::string log = nginx.access_log_content();
  CHECK(log.find("127.0.0.1 GET /healthz HTTP/1.1 200 -") != std::string::npos);
  CHECK(log.find("127.0.0.1 GET /healthz HTTP/1.1 200 TLSv1.3") != std::string::npos);
  CHECK(log.find("GET / HTTP/1.1 200 TLSv1.2") != std::string::npos);
  CHECK(nginx.running());
}

TEST_CASE("harness: nginx constructor fails loudly on a bad config", "[harness]") {
  NginxServer bad{.name = "bad", .extra_locations = "    this_is_not_a_directive;\n"};
  try {
    Nginx nginx({bad});
    FAIL("Nginx started with a broken config");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("this_is_not_a_directive") != std::string::npos);
  }
}

TEST_CASE("harness: fault server garbage and script", "[harness]") {
  FaultServer garbage({.mode = FaultMode::Garbage});
  Exchange ex = talk(garbage.port(), kGet);
  CHECK(ex.data == "garbage\r\n\r\n");
  CHECK(ex.error == 0);
  CHECK_FALSE(ex.timed_out);
  CHECK(garbage.connections() == 1);
  REQUIRE(garbage.requests().size() == 1);
  CHECK(garbage.requests()[0] == kGet);

  const std::string resp = "HTTP/1.1 204 No Content\r\nX-Test: 1\r\n\r\n";
  FaultServer script({.mode = FaultMode::Script, .response = resp});
  for (int i = 0; i < 3; ++i) CHECK(talk(script.port(), kGet).data == resp);
  CHECK(script.connections() == 3);
  CHECK(script.url("x") == "http://127.0.0.1:" + std::to_string(script.port()) + "/x");

  FaultServer banner(
      {.mode = FaultMode::Script, .response = "SSH-2.0-test\r\n", .wait_for_request = false});
  CHECK(talk(banner.port(), "").data == "SSH-2.0-test\r\n");
}

TEST_CASE("harness: fault server faults", "[harness]") {
  SECTION("reset mid headers") {
    FaultServer s({.mode = FaultMode::ResetMidHeaders});
    Exchange ex = talk(s.port(), kGet);
    CHECK(ex.error == ECONNRESET);
    CHECK_FALSE(ex.data.empty());
    CHECK(std::string(kDefaultFaultResponse).rfind(ex.data, 0) == 0);
    CHECK(ex.data.find("\r\n\r\n") == std::string::npos);
  }
  SECTION("reset mid body") {
    FaultServer s({.mode = FaultMode::ResetMidBody});
    Exchange ex = talk(s.port(), kGet);
    CHECK(ex.error == ECONNRESET);
    CHECK(ex.data.find("Content-Length: 100000\r\n\r\n") != std::string::npos);
  }
  SECTION("silent and never-accept servers time out") {
    FaultServer silent({.mode = FaultMode::AcceptSilent});
    CHECK(talk(silent.port(), kGet, 300ms).timed_out);
    CHECK(silent.connections() == 1);
    FaultServer never({.mode = FaultMode::NeverAccept});
    CHECK(talk(never.port(), kGet, 300ms).timed_out);
    CHECK(never.connections() == 0);
  }
  SECTION("a SYN-dropping server never completes a connect") {
    FaultServer syn({.mode = FaultMode::SynDrop});
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(syn.port()));
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    CHECK((rc < 0 && errno == EINPROGRESS));
    pollfd p{fd, POLLOUT, 0};
    CHECK(::poll(&p, 1, 500) == 0);  // still in SYN-SENT: no answer at all
    ::close(fd);
    CHECK(syn.connections() == 0);
  }
  SECTION("delay and drip") {
    FaultServer delay({.mode = FaultMode::Delay, .delay = 300ms});
    auto t0 = std::chrono::steady_clock::now();
    CHECK(talk(delay.port(), kGet).data == kDefaultFaultResponse);
    CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
    FaultServer fast_drip({.mode = FaultMode::Drip, .response = "abcd", .drip_interval = 20ms});
    CHECK(talk(fast_drip.port(), kGet).data == "abcd");
    // The destructor must not wait for a slow drip to finish.
    auto slow = std::make_unique<FaultServer>(FaultSpec{.mode = FaultMode::Drip});
    Exchange ex = talk(slow->port(), kGet, 1500ms);
    CHECK(ex.timed_out);
    CHECK(ex.data.size() == 2);  // t=0 and t=1 s
    t0 = std::chrono::steady_clock::now();
    slow.reset();
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  }
  SECTION("endless, huge, bad chunk and huge header bodies via curl") {
    int code = -1;
    FaultServer endless({.mode = FaultMode::EndlessChunked});
    curl({"-o", "/dev/null", "--max-filesize", "1000000", "--max-time", "2", endless.url()}, &code);
    CHECK(code == 28);  // timeout: a chunked body has no size to check up front
    FaultServer huge({.mode = FaultMode::HugeBody});
    curl({"-o", "/dev/null", "--max-filesize", "1000000", huge.url()}, &code);
    CHECK(code == 63);  // maximum file size exceeded
    FaultServer bad_chunk({.mode = FaultMode::BadChunk});
    curl({"-o", "/dev/null", bad_chunk.url()}, &code);
    CHECK(code == 56);  // failure receiving network data (bad chunk)
    FaultServer huge_header({.mode = FaultMode::HugeHeader});
    curl({"-o", "/dev/null", huge_header.url()}, &code);
    CHECK(code != 0);
    FaultServer garbage({.mode = FaultMode::Garbage});
    curl({"-o", "/dev/null", garbage.url()}, &code);
    CHECK(code != 0);
  }
}

}  // namespace
}  // namespace probed::testing
