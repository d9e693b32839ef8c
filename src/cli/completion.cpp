// `arca completion bash|zsh`: a completion script generated from the command tree itself, so it
// never falls behind the commands. zsh uses the same function through bashcompinit.
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"

namespace arca::cli {

namespace {

// Command path (" secret put") -> the words that may follow it (subcommands and options).
void Walk(const CLI::App* app, const std::string& path,
          std::map<std::string, std::vector<std::string>>* out) {
  std::vector<std::string>& words = (*out)[path];
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    words.push_back(sub->get_name());
    Walk(sub, path + " " + sub->get_name(), out);
  }
  // Options of this command and of the commands it falls through to.
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    for (const CLI::Option* opt : a->get_options()) {
      for (const auto& l : opt->get_lnames()) words.push_back("--" + l);
      for (const auto& s : opt->get_snames()) words.push_back("-" + s);
    }
    if (!a->get_fallthrough()) break;
  }
}

std::string BashScript(const CLI::App* root) {
  std::map<std::string, std::vector<std::string>> tree;
  Walk(root, "", &tree);
  std::string paths;
  std::string cases;
  for (const auto& [path, words] : tree) {
    if (!path.empty()) {
      if (!paths.empty()) paths += "|";
      paths += "\"" + path + "\"";
    }
    std::string list;
    for (const auto& w : words) {
      if (!list.empty()) list += " ";
      list += w;
    }
    cases += "    \"" + path + "\") words=\"" + list + "\" ;;\n";
  }
  return "# arca completion for bash (and zsh through bashcompinit).\n"
         "#   bash: source <(arca completion bash)    zsh: source <(arca completion zsh)\n"
         "_arca() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" words=\"\" w i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    [[ \"$w\" == \"--\" ]] && return 0\n"
         "    case \"$path $w\" in\n"
         "      " +
         paths +
         ") path=\"$path $w\" ;;\n"
         "    esac\n"
         "  done\n"
         "  case \"$path\" in\n" +
         cases +
         "  esac\n"
         "  case \"${COMP_WORDS[COMP_CWORD-1]}\" in\n"
         "    -f|--file|--from-file|--from-env-file|--map|--outputs|--config|--ca-bundle|-o|--out) "
         "return 0 ;;\n"
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "}\n"
         "complete -o default -o bashdefault -F _arca arca\n";
}

}  // namespace

void AddCompletionCommand(CLI::App* app, Context* ctx) {
  auto shell = std::make_shared<std::string>();
  CLI::App* c = app->add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  c->footer(
      "Examples:\n"
      "  source <(arca completion bash)                 # this shell\n"
      "  arca completion bash > /etc/bash_completion.d/arca\n"
      "  echo 'source <(arca completion zsh)' >> ~/.zshrc");
  c->add_option("shell", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  ctx->On(c, [ctx, shell, app] {
    if (*shell == "zsh") {
      ctx->out() << "# arca completion for zsh\n"
                    "autoload -U +X compinit && compinit\n"
                    "autoload -U +X bashcompinit && bashcompinit\n";
    }
    ctx->out() << BashScript(app);
    return kExitOk;
  });
}

}  // namespace arca::cli
