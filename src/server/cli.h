#pragma once
// The server's commands: `arca server [...]`, `arca server rekey`, `arca audit verify`, `arca backup`,
// `arca restore`.

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace arca::server {

// Adds the server's subcommands to `app`. After app.parse(), the returned function runs the command
// that was chosen and returns its exit status, or nullopt when none of these commands was chosen.
std::function<std::optional<int>()> AddCommands(CLI::App* app);

}  // namespace arca::server
