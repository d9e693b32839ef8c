// arca: subcommand dispatch, nothing else.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "cli/cli.h"
#include "operator/cli.h"
#include "server/cli.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  try {
    CLI::App app("Arca: a self-hosted secrets server compatible with AWS Secrets Manager.", "arca");
    app.set_version_flag("--version", "arca " ARCA_VERSION);
    app.require_subcommand(0, 1);
    auto server = arca::server::AddCommands(&app);
    auto client = arca::cli::AddCommands(&app);
    auto kube_operator = arca::op::AddCommands(&app);
    try {
      app.parse(arca::cli::ParsedArgCount(argc, argv), argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e) == 0 ? 0 : 2;
    }
    if (auto rc = server()) return *rc;
    if (auto rc = client()) return *rc;
    if (auto rc = kube_operator()) return *rc;
    std::cout << app.help();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "arca: fatal: " << e.what() << "\n";
    return 1;
  }
}
