// The one mechanism by which every program maps command-line flags onto its configuration: a
// table of named flags (--lr sets optimizer.lr), every config key by its dotted name
// (--optimizer.lr, Lightning style), --config FILE, a repeatable --set KEY=VALUE, "--key+=ITEM"
// for lists, and --print_config (the resolved configuration as JSON that --config accepts back).
// Booleans take true/false/True/False/1/0 and may be given bare; "--flag=value" and
// "--flag value" both work.
#pragma once

#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace ssmkit::cli {

struct ConfigFlag {
  std::string flag;  // command-line name without dashes, e.g. "lr"
  std::string key;   // dotted config key it sets, e.g. "optimizer.lr"
  std::string help;
};

// Registers --config, --set, --print_config, one flag per entry of `flags` and one per leaf key of
// `defaults` (by its dotted name); --help shows each flag's default from `defaults`.
void add_config_flags(cxxopts::Options& options, const std::vector<ConfigFlag>& flags,
                      const nlohmann::json& defaults, const std::string& group = "configuration");

// The flags every training program has besides its configuration: --threads (CPU threads, 0:
// SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores), --trace_shapes and -h/--help.
void add_program_flags(cxxopts::Options& options);

// The command line after parsing: cxxopts' result plus the "--key+=item" list appends, which
// cxxopts cannot parse, in the order given.
struct ParsedArguments {
  cxxopts::ParseResult result;
  std::vector<std::pair<std::string, std::string>> appends;  // (dotted key, item text)

  size_t count(const std::string& name) const { return result.count(name); }
  const cxxopts::OptionValue& operator[](const std::string& name) const { return result[name]; }
};

// Parses argv; a stray positional word is an InputError (cxxopts would accept it silently).
ParsedArguments parse_arguments(cxxopts::Options& options, int argc, const char* const* argv);

// The resolved config: `defaults`, then the --config file, then each named flag, then each dotted
// key flag, then the "+=" appends, then --set. `config_path`, when given, maps the --config value
// to the file to read (e.g. a shipped config's name to its path).
nlohmann::json resolve_config(
    const ParsedArguments& args, const std::vector<ConfigFlag>& flags, nlohmann::json defaults,
    const std::function<std::string(const std::string&)>& config_path = {});

// With --print_config: writes `config` as indented JSON to `out` and returns true (the program
// then exits without running).
bool print_config_if_asked(const ParsedArguments& args, const nlohmann::json& config,
                           std::ostream& out);

}  // namespace ssmkit::cli
