// The probe interfaces. One Probe exists per (check, target) and lives across runs; a Run is
// one attempt with one deadline. ProbeType is one row of probes/registry.cpp. Everything here
// runs on the loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/probe_type.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/io/loop.h"
#include "daemon/io/worker.h"
#include "probes/result.h"

namespace probed::probes {

using base::TimePoint;

// What a probe may use for its I/O. References outlive every probe.
struct Services {
  io::Loop& loop;
  io::CurlMulti& curl;
  io::AresPool& ares;
  io::Worker* worker = nullptr;  // blocking file reads (cert_file); replies with loop.post
};

class Run;

class Probe {
 public:
  virtual ~Probe() = default;
  // Starts the run. Must not block and must not call run.finish() from inside start(): a
  // synchronous failure goes through loop.defer (the curl rule against re-entering a caller).
  virtual void start(Run& run) = 0;
  // The deadline passed: release every fd, handle and query now and return what was seen so
  // far as a timeout Result (which phase it was in, the chain if TLS got that far).
  virtual Result on_deadline() = 0;
  // Reload or shutdown: release everything; no Result is wanted.
  virtual void cancel() = 0;
};

// Probe factory of one type.
using MakeProbeFn = std::unique_ptr<Probe> (*)(const config::CheckConfig& check,
                                               const config::Target& target, Services& services);

struct ProbeType {
  config::ProbeTypeInfo info;   // name, parse, check_target
  MakeProbeFn make = nullptr;   // nullptr: planned, not built yet
  bool sees_certificates = false;  // `probed certs` runs it
};

// THE list of probe types (probes/registry.cpp), and the part of it config/ needs.
const std::vector<ProbeType>& probe_types();
const config::ProbeTypes& config_probe_types();
const ProbeType* find_probe_type(std::string_view name);

// One attempt. Created by Run::start(); finishes exactly once: by the probe, or at the
// deadline with probe.on_deadline(). The done callback runs last, so it may destroy the Run
// only through loop.defer.
class Run {
 public:
  using DoneFn = std::function<void(Result)>;

  // Starts probe now with timeout; done gets the Result (duration and trace filled in).
  static std::unique_ptr<Run> start(Probe& probe, io::Loop& loop, base::Duration timeout,
                                    bool trace, DoneFn done);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  TimePoint started() const { return started_; }
  TimePoint deadline() const { return deadline_; }
  bool tracing() const { return trace_; }
  bool finished() const { return finished_; }
  io::Loop& loop() { return loop_; }

  // Adds a trace line (no-op unless tracing). Text is redacted when printed.
  void trace(std::string text);
  void finish(Result r);
  // Reload/shutdown: cancels the probe; done never runs.
  void abandon();

 private:
  Run(Probe& probe, io::Loop& loop, bool trace, DoneFn done);
  Probe& probe_;
  io::Loop& loop_;
  bool trace_;
  bool finished_ = false;
  DoneFn done_;
  TimePoint started_;
  TimePoint deadline_;
  io::TimerId deadline_timer_ = 0;
  std::vector<TraceLine> lines_;
};

}  // namespace probed::probes
