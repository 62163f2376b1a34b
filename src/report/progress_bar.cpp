// Progress display for training epochs.
#include "ssmkit/report/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ssmkit/io/error.h"

namespace ssmkit::report {
namespace {

// Redraws faster than this only cost time; people read a few updates per second at most.
constexpr double kRedrawSeconds = 0.1;
constexpr int64_t kBarWidth = 30;
// Plain mode prints a line at each tenth of the epoch.
constexpr int64_t kPlainLines = 10;

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(text, sizeof(text), "%02lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return text;
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& text, const std::string& flag) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "bar") return ProgressMode::kBar;
  if (text == "lines") return ProgressMode::kLines;
  if (text == "off") return ProgressMode::kOff;
  throw InputError(flag + " " + text + ": expected auto, bar, lines or off");
}

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressMode mode, std::ostream& out)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      mode_(mode),
      out_(out),
      start_(Clock::now()),
      last_draw_(start_) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = ::isatty(STDOUT_FILENO) ? ProgressMode::kBar : ProgressMode::kLines;
  }
}

ProgressBar::~ProgressBar() {
  finish();
}

std::string ProgressBar::status(int64_t done, double loss) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
  char text[128];
  std::snprintf(text, sizeof(text), "%lld/%lld loss %.4g %.1f steps/s ETA %s",
                static_cast<long long>(done), static_cast<long long>(total_), loss, rate,
                format_duration(eta).c_str());
  return text;
}

void ProgressBar::update(int64_t done, double loss) {
  if (mode_ == ProgressMode::kOff || finished_) return;
  done = std::clamp<int64_t>(done, 0, total_);
  if (mode_ == ProgressMode::kLines) {
    const int64_t decile = done * kPlainLines / total_;
    if (decile <= last_decile_) return;
    last_decile_ = decile;
    out_ << label_ << " " << (done * 100 / total_) << "% " << status(done, loss) << "\n";
    out_.flush();
    return;
  }
  const auto now = Clock::now();
  if (done < total_ && drawn_ &&
      std::chrono::duration<double>(now - last_draw_).count() < kRedrawSeconds) {
    return;
  }
  last_draw_ = now;
  drawn_ = true;
  const int64_t filled = done * kBarWidth / total_;
  std::string line = label_ + " [" + std::string(filled, '=') +
                     (filled < kBarWidth ? ">" + std::string(kBarWidth - filled - 1, ' ') : "") +
                     "] " + status(done, loss);
  const size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');  // erase the old tail
  last_width_ = width;
  out_ << "\r" << line;
  out_.flush();
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == ProgressMode::kBar && drawn_) {
    out_ << "\n";
    out_.flush();
  }
}

}  // namespace ssmkit::report
