// YAML configuration files, such as the config.yaml and hparams.yaml that Lightning writes, read
// into the same JSON that JSON config files give (so one merge and one validation serve both), and
// configurations written back as YAML. Plain scalars become null (null, ~, empty), booleans
// (true/false in any case), integers, floats, or strings; quoted scalars stay strings.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace ssmkit::io {

// The YAML document `text` as JSON; InputError naming `origin` with the line and column of a syntax
// error, or for a document that is not a mapping.
nlohmann::json parse_yaml_config(std::string_view text, const std::string& origin);

// `config` as a YAML block document that parse_yaml_config() reads back to the same JSON.
std::string to_yaml(const nlohmann::json& config);

// True for file names ending in .yaml or .yml.
bool is_yaml_path(const std::string& path);

}  // namespace ssmkit::io
