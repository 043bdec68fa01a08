// TcpConnection: one non-blocking TCP connection on the Loop, with an optional OpenSSL
// client handshake (also after a STARTTLS exchange), writes, and bounded reads until a regex
// matches. One operation at a time; every completion is delivered on the loop, never inside
// the call that started it. Loop thread only; closes its socket when destroyed.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <string>

#include "daemon/io/loop.h"
#include "probes/assertions/regex.h"
#include "probes/tls_context.h"

namespace probed::probes {

class TcpConnection {
 public:
  using Done = std::function<void(std::string error)>;  // empty error: success
  using ReadDone = std::function<void(std::string error, std::string data)>;

  explicit TcpConnection(io::Loop& loop) : loop_(loop) {}
  ~TcpConnection() { close(); }
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void connect(const std::string& address, int port, Done done);
  // TLS client handshake on the connected socket; `name` is the SNI and verified name.
  void start_tls(SSL_CTX* ctx, const std::string& name, TlsObservation* obs, Done done);
  void write(std::string data, Done done);
  // Reads until `re` matches what was read since the last read_until, at most `cap` bytes.
  void read_until(const Regex& re, size_t cap, ReadDone done);
  void close();
  // Puts bytes back in front of what the next read_until sees.
  void unread(std::string data) { in_.insert(0, data); }

  bool is_tls() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_; }
  // Where the connection is, for timeout messages: "connect", "tls handshake", "write", "read".
  const char* state() const;
  int errno_at_socket() const { return socket_errno_; }

 private:
  enum class Op { None, Connect, Handshake, Write, Read };
  void arm(io::Interest in);
  void on_event(uint32_t ev);
  void step_connect();
  void step_handshake();
  void step_write();
  void step_read();
  void complete(std::string error);
  // Interest for an SSL_ERROR_WANT_*; false when the error is fatal.
  bool want(int ssl_err);

  io::Loop& loop_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  Op op_ = Op::None;
  int socket_errno_ = 0;
  Done done_;
  ReadDone read_done_;
  std::string out_;
  std::string in_;
  const Regex* re_ = nullptr;
  size_t cap_ = 0;
  uint64_t gen_ = 0;  // bumped by close(): completions of a closed connection are dropped
};

}  // namespace probed::probes
