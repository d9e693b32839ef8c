#pragma once
// The `arca` command line: `arca --version`, `arca --help`, `arca server [...]`, `arca server rekey`.

namespace arca::server {

int Main(int argc, char** argv);

}  // namespace arca::server
