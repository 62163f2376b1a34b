// A per-epoch progress display: step/total, running loss, steps per second and ETA. On a terminal
// it redraws one line in place; otherwise (logs, CI) it prints a plain line every ~10%.
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

namespace ssmkit::report {

enum class ProgressMode {
  kAuto,   // kBar when stdout is a terminal, else kLines
  kBar,    // carriage-return redraws
  kLines,  // a plain line every ~10%
  kOff,
};

// "auto" | "bar" | "lines" | "off"; InputError naming `flag` otherwise.
ProgressMode parse_progress_mode(const std::string& text, const std::string& flag = "--progress");

class ProgressBar {
 public:
  // kAuto is resolved against stdout, whatever `out` is.
  ProgressBar(std::string label, int64_t total, ProgressMode mode, std::ostream& out = std::cout);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` of `total` steps are complete; `loss` is the running mean loss.
  void update(int64_t done, double loss);
  // Ends the bar's line (called by the destructor if not before).
  void finish();

  ProgressMode mode() const { return mode_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string status(int64_t done, double loss) const;

  std::string label_;
  int64_t total_;
  ProgressMode mode_;
  std::ostream& out_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  int64_t last_decile_ = 0;
  size_t last_width_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace ssmkit::report
