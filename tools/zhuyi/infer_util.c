// Opening a model directory for the inference commands (eval, generate): the model, its
// tokenizer, and the checks that they belong together and that every weight is finite. Error messages say what a model
// directory should hold, since the usual mistake is pointing at the wrong directory.
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/trainer.h"

static int is_file(const char *dir, const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", dir, name);
    struct stat st;
    return stat(buf, &st) == 0 && S_ISREG(st.st_mode);
}

int zy_cli_open_model(const char *command, const char *dir, zy_model **m, zy_tokenizer **t) {
    struct stat st;
    char a[4096], b[4096];
    *m = NULL, *t = NULL;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return zy_cli_die("%s: model directory '%s' not found (a model directory holds "
                          "config.json, model.safetensors and tokenizer.json)",
                          command, dir);
    if (!is_file(dir, "config.json", a, sizeof a) || !is_file(dir, "model.safetensors", a, sizeof a))
        return zy_cli_die("%s: '%s' is not a model directory: it needs config.json and "
                          "model.safetensors (and tokenizer.json)", command, dir);
    zy_status s;
    if (is_file(dir, "tokenizer.json", a, sizeof a))
        s = zy_tokenizer_load(t, a);
    else if (is_file(dir, "vocab.txt", a, sizeof a)) // BERT's (tokenizer_config.json read too)
        s = zy_tokenizer_load(t, a);
    else if (is_file(dir, "vocab.json", a, sizeof a) && is_file(dir, "merges.txt", b, sizeof b))
        s = zy_tokenizer_load_gpt2(t, a, b);
    else
        return zy_cli_die("%s: '%s' has no tokenizer.json (nor BERT's vocab.txt, nor GPT-2's "
                          "vocab.json + merges.txt)", command, dir);
    if (s) return zy_cli_die("%s: %s", command, zy_last_error());
    if ((s = zy_model_load(m, dir))) {
        zy_tokenizer_free(*t);
        *t = NULL;
        return zy_cli_die("%s: %s", command, zy_last_error());
    }
    // NaN or infinite weights make every logit and loss NaN: say which tensor, up front.
    if ((s = zy_model_check_finite(*m))) {
        zy_model_free(*m), zy_tokenizer_free(*t);
        *m = NULL, *t = NULL;
        return zy_cli_die("%s: %s/model.safetensors: %s", command, dir, zy_last_error());
    }
    int tv = zy_tokenizer_vocab_size(*t), mv = zy_model_get_info(*m)->vocab_size;
    if (tv != mv) {
        zy_model_free(*m), zy_tokenizer_free(*t);
        *m = NULL, *t = NULL;
        return zy_cli_die("%s: %s: the tokenizer has %d tokens but the model's vocab_size is "
                          "%d; they must be the same", command, dir, tv, mv);
    }
    return 0;
}

// The seq a zhuyi run in dir trained with (its newest checkpoint's state), or 0: the
// positions past it were never trained, so it is the default window.
int zy_cli_trained_seq(const char *dir) {
    char ckpt[4096], state[4200];
    zy_trainer_params tp;
    long step;
    if (zy_checkpoint_find(dir, ckpt, sizeof ckpt)) return 0;
    snprintf(state, sizeof state, "%s/%s", ckpt, ZY_TRAINING_STATE_FILE);
    return zy_trainer_read_params(state, &tp, &step) ? 0 : tp.seq;
}
