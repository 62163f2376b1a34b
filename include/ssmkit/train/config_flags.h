// The one mechanism by which every program maps command-line flags onto config keys: a table of
// (flag, dotted key, help), plus --config FILE and a repeatable --set KEY=VALUE for any other key.
// Header-only, so that only programs (which link cxxopts) pull in cxxopts.
#pragma once

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "ssmkit/train/config.h"

namespace ssmkit::train {

struct ConfigFlag {
  std::string flag;  // command-line name without dashes, e.g. "lr"
  std::string key;   // dotted config key it sets, e.g. "optimizer.lr"
  std::string help;
};

// Registers --config, --set and one flag per entry of `flags`; --help shows each flag's default
// from `defaults`. Booleans may be given bare (--mixed_precision means true).
inline void add_config_flags(cxxopts::Options& options, const std::vector<ConfigFlag>& flags,
                             const nlohmann::json& defaults,
                             const std::string& group = "configuration") {
  auto adder = options.add_options(group);
  adder("config", "JSON file of settings; flags given on the command line override it",
        cxxopts::value<std::string>());
  adder("set", "KEY=VALUE: sets any config key (dotted, e.g. optimizer.lr=1e-3); repeatable",
        cxxopts::value<std::vector<std::string>>());
  for (const auto& flag : flags) {
    const nlohmann::json& value = config_value(defaults, flag.key);  // throws for a wrong key
    if (value.is_object()) {
      throw std::logic_error("config flag --" + flag.flag + " maps to section '" + flag.key + "'");
    }
    const std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
    auto parser = cxxopts::value<std::string>();
    if (value.is_boolean()) parser->implicit_value("true");
    adder(flag.flag, flag.help + " (" + flag.key + ", default " + shown + ")", parser);
  }
}

// The resolved config: `defaults`, then the --config file, then each given flag, then --set.
inline nlohmann::json resolve_config(const cxxopts::ParseResult& result,
                                     const std::vector<ConfigFlag>& flags,
                                     nlohmann::json defaults) {
  if (result.count("config") > 0) {
    const auto path = result["config"].as<std::string>();
    merge_config(defaults, read_config_file(path), path);
  }
  for (const auto& flag : flags) {
    if (result.count(flag.flag) > 0) {
      set_config_value(defaults, flag.key, result[flag.flag].as<std::string>(), "--" + flag.flag);
    }
  }
  if (result.count("set") > 0) {
    apply_config_assignments(defaults, result["set"].as<std::vector<std::string>>(), "--set");
  }
  return defaults;
}

}  // namespace ssmkit::train
