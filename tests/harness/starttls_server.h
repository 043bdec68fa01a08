// StarttlsServer: a loopback server that speaks the server side of one protocol's STARTTLS
// exchange (smtp, imap, pop3, ftp, postgres), then a real OpenSSL TLS handshake, one connection
// at a time on its own thread. Construct and destroy it on one thread; accessors are thread-safe.
#ifndef PROBED_TESTS_HARNESS_STARTTLS_SERVER_H_
#define PROBED_TESTS_HARNESS_STARTTLS_SERVER_H_

#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace probed::testing {

struct StarttlsOptions {
  std::string protocol = "smtp";  // smtp, imap, pop3, ftp or postgres (the `starttls` names)
  std::string cert_chain_path{};  // server certificate chain, PEM (leaf first)
  std::string key_path{};         // its private key, PEM
  // Answer the STARTTLS request with the protocol's refusal ("454 ...", "a001 NO ...", "-ERR
  // ...", "534 ...", 'N') and close, instead of the go-ahead and the handshake.
  bool refuse = false;
  // Written over TLS right after the handshake, before the server closes.
  std::string after_tls = "hello over tls\r\n";
};

class StarttlsServer {
 public:
  // Loads the certificate, binds 127.0.0.1:0 (port read back), listens and starts the server
  // thread. Throws std::invalid_argument for an unknown protocol and std::runtime_error on
  // socket or OpenSSL errors.
  explicit StarttlsServer(StarttlsOptions options);
  ~StarttlsServer();  // wakes and joins the thread promptly (even mid-exchange)
  StarttlsServer(const StarttlsServer&) = delete;
  StarttlsServer& operator=(const StarttlsServer&) = delete;

  int port() const { return port_; }
  std::string target() const { return "localhost:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }  // accepted so far
  int handshakes() const { return handshakes_.load(); }    // TLS handshakes completed
  // The client's command lines (CRLF stripped) in order; postgres records "SSLRequest" or
  // "bad SSLRequest".
  std::vector<std::string> commands() const;

 private:
  struct Conn;
  void run();
  void serve(Conn& c);
  bool exchange(Conn& c);  // the plaintext part; true when TLS should start
  void record(std::string command);

  const StarttlsOptions options_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> handshakes_{0};
  mutable std::mutex commands_mu_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_STARTTLS_SERVER_H_
