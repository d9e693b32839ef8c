#pragma once
// Each command group adds its subcommands to the top-level app and registers what they run on the
// shared Context (cli.cpp calls these in the order `arca --help` lists them).

namespace CLI {
class App;
}

#include <string>
#include <vector>

namespace arca::cli {

class Context;

// What followed "--" on the command line (cli.h ParsedArgCount), for `arca run`.
void SetProgramArgs(std::vector<std::string> args);

void AddSecretCommands(CLI::App* app, Context* ctx);        // secret_commands.cpp: arca secret ...
void AddBootstrapCommand(CLI::App* app, Context* ctx);      // bootstrap.cpp: arca bootstrap
void AddRunCommand(CLI::App* app, Context* ctx);            // run.cpp: arca run
void AddExportImportCommands(CLI::App* app, Context* ctx);  // export.cpp: arca export, arca import
void AddCompletionCommand(CLI::App* app, Context* ctx);  // completion.cpp: arca completion bash|zsh

}  // namespace arca::cli
