// Strict JSON config reading: defaults, type errors and unknown keys name the key.
#include <gtest/gtest.h>

#include "ssmkit/util/json_fields.h"

namespace {

struct Example {
  int64_t count = 3;
  double rate = 0.5;
  bool flag = false;
  std::string name = "x";
};

Example read_example(const nlohmann::json& j) {
  Example e;
  ssmkit::JsonFieldReader r(j, "example config");
  r.read("count", e.count);
  r.read("rate", e.rate);
  r.read("flag", e.flag);
  r.read("name", e.name);
  r.finish();
  return e;
}

std::string error_of(const nlohmann::json& j) {
  try {
    read_example(j);
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonFieldReader, MissingKeysKeepDefaultsAndPresentKeysAreRead) {
  const Example e = read_example({{"count", 7}, {"flag", true}});
  EXPECT_EQ(e.count, 7);
  EXPECT_DOUBLE_EQ(e.rate, 0.5);
  EXPECT_TRUE(e.flag);
  EXPECT_EQ(e.name, "x");
  EXPECT_DOUBLE_EQ(read_example({{"rate", 2}}).rate, 2.0);  // integers are numbers
}

TEST(JsonFieldReader, WrongTypeNamesKeyValueAndExpectation) {
  std::string msg = error_of({{"count", 1.5}});
  EXPECT_NE(msg.find("example config: 'count' is 1.5, expected an integer"), std::string::npos)
      << msg;
  msg = error_of({{"flag", 1}});
  EXPECT_NE(msg.find("'flag' is 1, expected true or false"), std::string::npos) << msg;
  msg = error_of({{"name", 3}});
  EXPECT_NE(msg.find("'name' is 3, expected a string"), std::string::npos) << msg;
}

TEST(JsonFieldReader, UnknownKeysAreListed) {
  const std::string msg = error_of({{"cuont", 1}, {"count", 2}});
  EXPECT_NE(msg.find("unknown key 'cuont'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("count"), std::string::npos) << msg;
}

TEST(JsonFieldReader, NonObjectIsRejected) {
  EXPECT_NE(error_of(nlohmann::json::array({1, 2})).find("expected a JSON object"),
            std::string::npos);
}

}  // namespace
