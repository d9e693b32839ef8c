// arca: subcommand dispatch, nothing else.
#include "server/cli.h"

int main(int argc, char** argv) { return arca::server::Main(argc, argv); }
