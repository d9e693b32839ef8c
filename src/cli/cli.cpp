#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"

namespace arca::cli {

int ParsedArgCount(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      std::vector<std::string> rest(argv + i + 1, argv + argc);
      SetProgramArgs(std::move(rest));
      return i;
    }
  }
  return argc;
}

std::function<std::optional<int>()> AddCommands(CLI::App* app) {
  auto ctx = std::make_shared<Context>(std::cout, std::cerr);
  AddSecretCommands(app, ctx.get());
  AddBootstrapCommand(app, ctx.get());
  AddRunCommand(app, ctx.get());
  AddExportImportCommands(app, ctx.get());
  AddCompletionCommand(app, ctx.get());
  return [ctx] { return ctx->RunChosen(); };
}

}  // namespace arca::cli
