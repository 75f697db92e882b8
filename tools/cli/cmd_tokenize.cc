// `longmem tokenize`: show how a text splits into tokens.
#include <cstdio>

#include "common.h"

namespace lm::cli {

void RegisterTokenize(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("tokenize", "print the token ids (and pieces) of a text");
  struct Opts {
    ModelOptions model;
    std::string prompt, file;
    bool ids_only = false, no_special = false;
  };
  auto o = std::make_shared<Opts>();
  AddModelOptions(*cmd, o->model);
  cmd->add_option("-p,--prompt", o->prompt, "text to tokenize");
  cmd->add_option("-f,--file", o->file, "read the text from a file");
  cmd->add_flag("--ids-only", o->ids_only, "print only the ids, space-separated");
  cmd->add_flag("--no-special", o->no_special, "treat special-token text as plain text");
  cmd->callback([&exit_code, o] {
    std::string text = o->prompt;
    if (!o->file.empty()) {
      auto t = ReadTextFile(o->file);
      if (!t.ok()) {
        exit_code = Fail(t.status());
        return;
      }
      text = *t;
    }
    auto loaded = LoadForCli(o->model);
    if (!loaded.ok()) {
      exit_code = Fail(loaded.status());
      return;
    }
    const auto ids = loaded->tokenizer->Encode(text, {.add_bos = true, .parse_special = !o->no_special});
    if (o->ids_only) {
      for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
      std::printf("\n");
      return;
    }
    for (int32_t id : ids) {
      std::string piece = loaded->tokenizer->TokenBytes(id);
      std::string shown;
      for (char ch : piece) shown += ch == '\n' ? std::string("\\n") : std::string(1, ch);
      std::printf("%6d  '%s'\n", id, shown.c_str());
    }
    std::printf("%zu tokens\n", ids.size());
  });
}

}  // namespace lm::cli
