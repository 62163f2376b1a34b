// Timestamps as int64 seconds since 1970-01-01 00:00:00 UTC, parsed from the spellings that time
// series files use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssmkit::io {

constexpr int64_t kSecondsPerHour = 3600;

// Accepts, after trimming blanks:
//   YYYY-MM-DD, YYYY/M/D                           (midnight)
//   <date>[T| ]H:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM|+HHMM]   (e.g. "2016-07-01 00:00:00",
//                                                   "1990/1/1 0:00", "2020-01-01T12:30Z")
//   an integer (or a decimal with a zero fraction), read as epoch seconds
// Times without an offset are taken as UTC. Years 0000-9999. A nonzero fraction of a second is
// rejected (the result has whole seconds). Returns nullopt for anything else.
std::optional<int64_t> parse_timestamp(std::string_view text);

// Epoch seconds from a JSON number: nullopt unless finite, whole and within years 0000-9999.
std::optional<int64_t> timestamp_from_number(double seconds);

// "YYYY-MM-DD HH:MM:SS" (UTC) for messages and summaries.
std::string format_timestamp(int64_t epoch_seconds);

// What parse_timestamp() accepts, for error messages.
extern const char* const kTimestampFormats;

}  // namespace ssmkit::io
