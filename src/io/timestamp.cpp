// Timestamp parsing (ISO-like dates and times, epoch seconds) with a proleptic Gregorian calendar.
#include "ssmkit/io/timestamp.h"

#include <cmath>
#include <cstdio>

#include "ssmkit/io/number_text.h"

namespace ssmkit::io {

const char* const kTimestampFormats =
    "YYYY-MM-DD[ HH:MM[:SS]], YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], YYYY/M/D[ H:MM[:SS]], or integer "
    "epoch seconds";

namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerMinute = 60;
constexpr int kMaxYear = 9999;
// 0000-01-01T00:00:00 and 9999-12-31T23:59:59 in epoch seconds: the range we represent.
constexpr int64_t kMinEpochSeconds = -62167219200;
constexpr int64_t kMaxEpochSeconds = 253402300799;

// Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int64_t y, int64_t m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// A cursor over the text with "read N..M digits" and "expect char".
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Reads between min_digits and max_digits decimal digits.
  bool digits(int min_digits, int max_digits, int64_t& value) {
    value = 0;
    int count = 0;
    while (count < max_digits && !done() && peek() >= '0' && peek() <= '9') {
      value = value * 10 + (text_[pos_++] - '0');
      ++count;
    }
    return count >= min_digits;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::optional<int64_t> parse_epoch_text(std::string_view text) {
  const NumberText number = parse_number_text(text);
  if (number.kind != NumberTextKind::number) return std::nullopt;
  return timestamp_from_number(number.value);
}

bool looks_numeric(std::string_view text) {
  return !text.empty() &&
         (text[0] == '-' || text[0] == '+' || text.find_first_of("-/") == std::string_view::npos);
}

}  // namespace

std::optional<int64_t> timestamp_from_number(double seconds) {
  if (!std::isfinite(seconds) || seconds != std::floor(seconds)) return std::nullopt;
  if (seconds < static_cast<double>(kMinEpochSeconds) ||
      seconds > static_cast<double>(kMaxEpochSeconds)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(seconds);
}

std::optional<int64_t> parse_timestamp(std::string_view text) {
  text = trim_blanks(text);
  if (looks_numeric(text)) return parse_epoch_text(text);

  Cursor in(text);
  int64_t year = 0, month = 0, day = 0;
  if (!in.digits(4, 4, year)) return std::nullopt;
  const char date_sep = in.peek();
  if (date_sep != '-' && date_sep != '/') return std::nullopt;
  in.accept(date_sep);
  if (!in.digits(1, 2, month) || !in.accept(date_sep) || !in.digits(1, 2, day)) return std::nullopt;
  if (year > kMaxYear || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
    return std::nullopt;
  }
  int64_t hour = 0, minute = 0, second = 0, offset_seconds = 0;
  if (!in.done()) {
    if (!in.accept('T')) {
      if (!in.accept(' ')) return std::nullopt;
      while (in.accept(' ')) {
      }
    }
    if (!in.digits(1, 2, hour) || !in.accept(':') || !in.digits(2, 2, minute)) return std::nullopt;
    if (in.accept(':')) {
      if (!in.digits(2, 2, second)) return std::nullopt;
      if (in.accept('.')) {
        int64_t fraction = 0;
        // Any number of zero digits is fine; digits(1, 18) bounds the value to fit int64.
        if (!in.digits(1, 18, fraction) || fraction != 0) return std::nullopt;
        int64_t more = 0;
        while (in.digits(1, 18, more)) {
          if (more != 0) return std::nullopt;
        }
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
    if (in.accept('Z')) {
    } else if (in.peek() == '+' || in.peek() == '-') {
      const int64_t sign = in.peek() == '+' ? 1 : -1;
      in.accept(in.peek());
      int64_t offset_hours = 0, offset_minutes = 0;
      if (!in.digits(2, 2, offset_hours)) return std::nullopt;
      in.accept(':');
      if (!in.digits(2, 2, offset_minutes)) return std::nullopt;
      if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
      offset_seconds = sign * (offset_hours * kSecondsPerHour + offset_minutes * kSecondsPerMinute);
    }
  }
  if (!in.done()) return std::nullopt;
  const int64_t seconds = days_from_civil(year, month, day) * kSecondsPerDay +
                          hour * kSecondsPerHour + minute * kSecondsPerMinute + second -
                          offset_seconds;
  if (seconds < kMinEpochSeconds || seconds > kMaxEpochSeconds) return std::nullopt;
  return seconds;
}

std::string format_timestamp(int64_t epoch_seconds) {
  int64_t days = epoch_seconds / kSecondsPerDay;
  int64_t rest = epoch_seconds % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    --days;
  }
  int64_t y = 0, m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rest / kSecondsPerHour),
                static_cast<long long>(rest % kSecondsPerHour / kSecondsPerMinute),
                static_cast<long long>(rest % kSecondsPerMinute));
  return buffer;
}

}  // namespace ssmkit::io
