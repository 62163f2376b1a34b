// Timestamp parsing against Python's datetime arithmetic (values computed by hand and checked with
// `calendar.timegm`), and the spellings rejected.
#include <gtest/gtest.h>

#include <random>

#include "ssmkit/io/timestamp.h"

namespace ssmkit::io {
namespace {

TEST(Timestamp, ParsesTheAcceptedSpellings) {
  EXPECT_EQ(parse_timestamp("1970-01-01"), 0);
  EXPECT_EQ(parse_timestamp("2016-07-01 00:00:00"), 1467331200);
  EXPECT_EQ(parse_timestamp("2016-07-01T01:00:00"), 1467334800);
  EXPECT_EQ(parse_timestamp("2016-07-01 01:00"), 1467334800);
  EXPECT_EQ(parse_timestamp(" 2016-07-01T01:00Z "), 1467334800);
  EXPECT_EQ(parse_timestamp("2016-07-01T03:00:00+02:00"), 1467334800);
  EXPECT_EQ(parse_timestamp("2016-06-30T20:00:00-0500"), 1467334800);
  EXPECT_EQ(parse_timestamp("2016-07-01 01:00:00.000"), 1467334800);
  EXPECT_EQ(parse_timestamp("1990/1/1 0:00"), 631152000);
  EXPECT_EQ(parse_timestamp("1990/1/1"), 631152000);
  EXPECT_EQ(parse_timestamp("2000-02-29 23:59:59"), 951868799);
  EXPECT_EQ(parse_timestamp("1969-12-31 23:59:59"), -1);
  EXPECT_EQ(parse_timestamp("1467331200"), 1467331200);
  EXPECT_EQ(parse_timestamp("-86400"), -86400);
  EXPECT_EQ(parse_timestamp("1467331200.0"), 1467331200);
  EXPECT_EQ(timestamp_from_number(1467331200.0), 1467331200);
}

TEST(Timestamp, RejectsEverythingElse) {
  for (const char* text :
       {"", "abc", "2016-13-01", "2016-02-30", "2015-02-29", "2016-07-01 24:00", "2016-07-01 12:60",
        "2016-07-01 12:00:61", "2016-07-01x", "2016-07-01 1", "2016-07/01", "16-07-01",
        "2016-07-01 12:00:00.5", "2016-07-01T12:00+25:00", "1.5", "1e30", "01/07/2016"}) {
    EXPECT_FALSE(parse_timestamp(text).has_value()) << text;
  }
  EXPECT_FALSE(timestamp_from_number(0.5).has_value());
  EXPECT_FALSE(timestamp_from_number(1e300).has_value());
}

TEST(Timestamp, FormatInvertsParseOnRandomTimes) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // 1600-01-01 to 2400-01-01: both sides of the epoch and several leap-century rules.
  std::uniform_int_distribution<int64_t> dist(-11676096000, 13569465600);
  for (int i = 0; i < 2000; ++i) {
    const int64_t t = dist(rng);
    const std::string text = format_timestamp(t);
    EXPECT_EQ(parse_timestamp(text), t) << text;
  }
  EXPECT_EQ(format_timestamp(1467331200), "2016-07-01 00:00:00");
}

}  // namespace
}  // namespace ssmkit::io
