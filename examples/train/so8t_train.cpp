// so8t_train: trains the tiny llama with SO(8) gates on the CPU.
//
//   so8t_train [--config tiny|small|micro] [--data kjv|FILE] [--steps N] [--batch B] [--lr X] ...
//
// --data kjv (default) reads the King James Bible through Debian's bible-kjv package
// (`bible -f Gen1:1-Rev22:21`, verse references dropped; apt-get install bible-kjv); any other value is a
// text file. Prints a progress bar (loss, tokens/s, ETA) on stderr, writes one JSON object per line to
// --log, evaluates the held-out split every --eval-every steps and at the end, and writes GGUF checkpoints
// (architecture llama-so8t-unbaked) to --out; --resume FILE continues a run bit for bit.
#include <cstdio>

#include "train_main.hpp"

int main(int argc, char** argv) {
  using namespace so8t_train;
  Args a;
  const int rc = parse_args(argc, argv, a, false);
  if (rc >= 0) return rc;
  return cli::run("so8t_train", [&] {
    check_files(a);  // before any work
    try {
      const LlamaConfig cfg = make_config(a);
      const SplitCorpus split = load_split(a, "so8t_train");
      Trainer tr(cfg, a.opt);
      return run_training(tr, a, cfg, split, "so8t_train");
    } catch (...) {
      std::fputc('\n', stderr);  // end the progress bar's line before the message
      throw;
    }
  });
}
