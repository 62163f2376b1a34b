// Flags <-> configuration for every program.
#include "ssmkit/cli/config_flags.h"

#include <algorithm>
#include <cctype>
#include <ostream>
#include <stdexcept>

#include "ssmkit/cli/run_main.h"
#include "ssmkit/io/config.h"
#include "ssmkit/io/error.h"

namespace ssmkit::cli {
namespace {

constexpr const char* kAppendOperator = "+=";

bool is_registered(const std::vector<ConfigFlag>& flags, const std::string& name) {
  for (const auto& flag : flags) {
    if (flag.flag == name) return true;
  }
  return false;
}

bool is_boolean_literal(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text == "true" || text == "false";
}

std::string shown_default(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::shared_ptr<cxxopts::Value> flag_parser(const nlohmann::json& value) {
  auto parser = cxxopts::value<std::string>();
  if (value.is_boolean()) parser->implicit_value("true");
  return parser;
}

}  // namespace

void add_config_flags(cxxopts::Options& options, const std::vector<ConfigFlag>& flags,
                      const nlohmann::json& defaults, const std::string& group) {
  auto adder = options.add_options(group);
  adder("config", "JSON file of settings; flags given on the command line override it",
        cxxopts::value<std::string>());
  adder("set", "KEY=VALUE: sets any config key (dotted, e.g. optimizer.lr=1e-3); repeatable",
        cxxopts::value<std::vector<std::string>>());
  adder("print_config", "print the resolved configuration as JSON (for --config) and exit");
  for (const auto& flag : flags) {
    const nlohmann::json& value = io::config_value(defaults, flag.key);  // throws for a wrong key
    if (value.is_object()) {
      throw std::logic_error("config flag --" + flag.flag + " maps to section '" + flag.key + "'");
    }
    adder(flag.flag, flag.help + " (" + flag.key + ", default " + shown_default(value) + ")",
          flag_parser(value));
  }
  auto keys = options.add_options("config keys (any key by its dotted name)");
  for (const auto& [key, text] : io::flatten_config(defaults)) {
    if (is_registered(flags, key)) continue;
    keys(key, "default " + text, flag_parser(io::config_value(defaults, key)));
  }
}

void add_program_flags(cxxopts::Options& options) {
  options.add_options("program")(
      "threads", "CPU threads (0: SSMKIT_NUM_THREADS, OMP_NUM_THREADS or all cores)",
      cxxopts::value<int>()->default_value("0"))(
      "trace_shapes", "log every block's input and output shapes",
      cxxopts::value<bool>()->default_value("false"))("h,help", "print this help");
}

ParsedArguments parse_arguments(cxxopts::Options& options, int argc, const char* const* argv) {
  // "--key+=item" words are taken out before cxxopts sees them, and "--flag true" becomes
  // "--flag=true": a boolean flag may be given bare, so cxxopts would not take the next word.
  std::vector<std::string> kept;
  ParsedArguments parsed;
  for (int i = 0; i < argc; ++i) {
    const std::string word = argv[i];
    const bool is_flag = i > 0 && word.rfind("--", 0) == 0;
    const size_t op = word.find(kAppendOperator);
    if (is_flag && op != std::string::npos && word.find('=') == op + 1) {
      parsed.appends.emplace_back(word.substr(2, op - 2), word.substr(op + 2));
    } else if (is_flag && word.find('=') == std::string::npos && i + 1 < argc &&
               is_boolean_literal(argv[i + 1])) {
      kept.push_back(word + "=" + argv[++i]);
    } else {
      kept.push_back(word);
    }
  }
  std::vector<const char*> words;
  for (const auto& word : kept)
    words.push_back(word.c_str());
  parsed.result = options.parse(static_cast<int>(words.size()), words.data());
  if (!parsed.result.unmatched().empty()) {
    const std::string& stray = parsed.result.unmatched().front();
    // Only a boolean flag leaves the next word unconsumed: that word was meant as its value.
    const auto at = std::find(kept.begin(), kept.end(), stray);
    if (at != kept.begin() && at != kept.end()) {
      const std::string& previous = *(at - 1);
      if (previous.rfind("--", 0) == 0 && previous.find('=') == std::string::npos) {
        throw InputError(previous + ": expected true or false (True/False, 1/0), got '" + stray +
                         "'");
      }
    }
    throw UsageError("unexpected argument '" + stray +
                     "' (options are --name value or --name=value)");
  }
  return parsed;
}

nlohmann::json resolve_config(const ParsedArguments& args, const std::vector<ConfigFlag>& flags,
                              nlohmann::json defaults,
                              const std::function<std::string(const std::string&)>& config_path) {
  const auto keys = io::flatten_config(defaults);
  if (args.count("config") > 0) {
    const auto given = args["config"].as<std::string>();
    const auto path = config_path ? config_path(given) : given;
    io::merge_config(defaults, io::read_config_file(path), path);
  }
  for (const auto& flag : flags) {
    if (args.count(flag.flag) > 0) {
      io::set_config_value(defaults, flag.key, args[flag.flag].as<std::string>(), "--" + flag.flag);
    }
  }
  for (const auto& [key, text] : keys) {
    if (!is_registered(flags, key) && args.count(key) > 0) {
      io::set_config_value(defaults, key, args[key].as<std::string>(), "--" + key);
    }
  }
  for (const auto& [key, item] : args.appends)
    io::append_config_value(defaults, key, item, "--" + key);
  if (args.count("set") > 0) {
    io::apply_config_assignments(defaults, args["set"].as<std::vector<std::string>>(), "--set");
  }
  return defaults;
}

bool print_config_if_asked(const ParsedArguments& args, const nlohmann::json& config,
                           std::ostream& out) {
  if (args.count("print_config") == 0) return false;
  out << config.dump(2) << std::endl;
  return true;
}

}  // namespace ssmkit::cli
