#pragma once
// The people's client: `arca secret ...`, `arca bootstrap`, `arca run`, `arca export`, `arca
// import`, `arca completion`. docs/cli.md describes every command.

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace arca::cli {

// Adds the client commands to `app`. After app.parse(), the returned function runs the chosen
// command and returns its exit status, or nullopt when none of these commands was chosen.
std::function<std::optional<int>()> AddCommands(CLI::App* app);

// The words after the first "--" are the program `arca run` starts, taken verbatim: main() parses
// only the first ParsedArgCount(argc, argv) words, because CLI11 would still read options (and drop
// words such as "-c") among the rest. The rest are remembered for `arca run`.
int ParsedArgCount(int argc, char** argv);

}  // namespace arca::cli
