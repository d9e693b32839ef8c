// Placeholder until the command lands.
#include "cli/commands.h"

namespace arca::cli {

void AddBootstrapCommand(CLI::App*, Context*) {}

}  // namespace arca::cli
