// Opening a model directory for the inference commands (eval, generate, predict, ...): the
// model (with its LoRA adapter merged in, if it has one), its tokenizer, and the checks
// that they belong together and that every weight is finite. Error messages say what a
// model directory should hold, since the usual mistake is pointing at the wrong directory.
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/gguf.h"
#include "zhuyi/lora.h"
#include "zhuyi/trainer.h"

// The tokenizer of the first of dirs[0..n) that has one (tokenizer.json, BERT's vocab.txt,
// GPT-2's vocab.json + merges.txt); 0, or 1 (printed).
static int open_tokenizer(const char *command, const char *const *dirs, int n,
                          zy_tokenizer **t) {
    char a[4096], b[4096];
    zy_status s = ZY_STATUS_NOT_FOUND;
    for (int i = 0; i < n && s == ZY_STATUS_NOT_FOUND; i++) {
        if (zy_cli_dir_file(dirs[i], "tokenizer.json", a, sizeof a))
            s = zy_tokenizer_load(t, a);
        else if (zy_cli_dir_file(dirs[i], "vocab.txt", a, sizeof a))
            s = zy_tokenizer_load(t, a); // BERT's (tokenizer_config.json read too)
        else if (zy_cli_dir_file(dirs[i], "vocab.json", a, sizeof a) &&
                 zy_cli_dir_file(dirs[i], "merges.txt", b, sizeof b))
            s = zy_tokenizer_load_gpt2(t, a, b);
        else
            continue;
        if (s) return zy_cli_die("%s: %s", command, zy_last_error());
    }
    if (s == ZY_STATUS_NOT_FOUND)
        return zy_cli_die("%s: '%s' has no tokenizer.json (nor BERT's vocab.txt, nor GPT-2's "
                          "vocab.json + merges.txt)%s%s", command, dirs[0],
                          n > 1 ? ", nor has its base model " : "", n > 1 ? dirs[1] : "");
    return 0;
}

// --weights: -1 until given (the file's type then).
static int weights = -1;

int zy_cli_weights(const char *command, const char *type) {
    zy_wtype t;
    if (zy_wtype_parse(type, &t))
        return zy_cli_die("%s: --weights '%s' is not one of f32, f16, bf16, q8_0, q4_0",
                          command, type);
    weights = (int)t;
    return 0;
}

static zy_wtype kv_cache = ZY_WTYPE_F32;

int zy_cli_kv_cache(const char *command, const char *type) {
    zy_wtype t;
    if (zy_wtype_parse(type, &t) || (t != ZY_WTYPE_F32 && t != ZY_WTYPE_F16 && t != ZY_WTYPE_BF16))
        return zy_cli_die("%s: --kv-cache '%s' is not one of f32, f16, bf16", command, type);
    kv_cache = t;
    return 0;
}

zy_session_params zy_cli_decode_params(void) {
    zy_session_params p = zy_session_default_params();
    p.kv_cache = kv_cache;
    return p;
}

zy_status zy_cli_decode_only(zy_model *m) {
    if (zy_model_weight_type(m) == ZY_WTYPE_F32 || !zy_model_get_info(m)->typed_decode_only)
        return ZY_STATUS_OK;
    return zy_model_drop_fp32(m);
}

int zy_cli_copy_tokenizer(const char *command, const char *const *srcs, int n,
                          const char *dst) {
    static const char *const names[] = {"tokenizer.json", "vocab.txt", "vocab.json",
                                        "merges.txt", "tokenizer_config.json",
                                        "special_tokens_map.json"};
    char from[4200], to[4200];
    for (int s = 0; s < n; s++) {
        int copied = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (!zy_cli_dir_file(srcs[s], names[i], from, sizeof from)) continue;
            snprintf(to, sizeof to, "%s/%s", dst, names[i]);
            char *data;
            size_t len;
            zy_status st = zy_file_read(from, &data, &len);
            if (!st) {
                st = zy_file_write_atomic(to, data, len);
                zy_free(data);
            }
            if (st) return zy_cli_die("%s: %s", command, zy_last_error());
            copied++;
        }
        if (copied) return 0;
    }
    fprintf(stderr, "zhuyi: %s: note: no tokenizer in %s%s%s: DIR holds the model only\n",
            command, srcs[0], n > 1 ? " or " : "", n > 1 ? srcs[1] : "");
    return 0;
}

// A GGUF file (zhuyi export gguf, or llama.cpp's converter): the model and its tokenizer
// both come from it. The weight type: --weights, else the one most of the file's matrices
// are stored in (f16 kept where the file kept it: whole blocks or not, the same rule as
// export). With decode (zy_cli_open_model_decoder) it loads decode-only: the
// matrices go straight into the typed copies (as their bytes are where the file stores
// that type), and no fp32 matrix array is held (zy_model_load_gguf_decoder).
static int open_gguf(const char *command, const char *path, const char *adapter, bool decode,
                     zy_model **m, zy_tokenizer **t) {
    if (adapter)
        return zy_cli_die("%s: --adapter needs a model directory, not a GGUF file (%s)",
                          command, path);
    zy_gguf_model_info info;
    zy_status s = decode ? zy_model_load_gguf_decoder(m, t, path, weights, &info)
                         : zy_model_load_gguf(m, t, path, &info);
    if (!s && !(s = zy_model_check_finite(*m)) && !decode)
        s = zy_model_set_weight_type(*m, weights >= 0 ? (zy_wtype)weights : info.wtype);
    if (s && *m) {
        zy_model_free(*m), zy_tokenizer_free(*t);
        *m = NULL, *t = NULL;
    }
    return s ? zy_cli_die("%s: %s", command, zy_last_error()) : 0;
}

static int open_model(const char *command, const char *dir, const char *adapter, bool decode,
                      zy_model **m, zy_tokenizer **t) {
    struct stat st;
    char a[4096];
    *m = NULL, *t = NULL;
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && zy_gguf_is_gguf(dir))
        return open_gguf(command, dir, adapter, decode, m, t);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return zy_cli_die("%s: model directory '%s' not found (a model directory holds "
                          "config.json, model.safetensors and tokenizer.json; a GGUF file "
                          "holds a model too)", command, dir);
    // A LoRA run's directory holds the adapter, and names its base.
    bool adapter_dir = !adapter && zy_cli_dir_file(dir, "adapter_config.json", a, sizeof a);
    if (adapter && !zy_cli_dir_file(adapter, "adapter_config.json", a, sizeof a))
        return zy_cli_die("%s: --adapter '%s' is not an adapter directory: it needs "
                          "adapter_config.json and adapter_model.safetensors", command,
                          adapter);
    if (!adapter && !adapter_dir && (!zy_cli_dir_file(dir, "config.json", a, sizeof a) ||
                                     !zy_cli_dir_file(dir, "model.safetensors", a, sizeof a)))
        return zy_cli_die("%s: '%s' is not a model directory: it needs config.json and "
                          "model.safetensors (and tokenizer.json), or a LoRA adapter's "
                          "adapter_config.json and adapter_model.safetensors", command, dir);
    zy_status s;
    if (adapter) s = zy_model_load_adapter(m, dir, adapter);
    else if (decode && !adapter_dir) s = zy_model_load_decoder(m, dir, weights);
    else s = zy_model_load(m, dir);
    if (s) return zy_cli_die("%s: %s", command, zy_last_error());
    // Inference runs on the merged weights: no adapter cost per token.
    const zy_lora_config *lc = zy_model_lora_config(*m);
    char base[4096] = ""; // a copy: merging drops the adapter's settings
    if (lc && lc->base_model_name_or_path)
        snprintf(base, sizeof base, "%s", lc->base_model_name_or_path);
    const char *dirs[2] = {adapter ? adapter : dir, adapter ? dir : base[0] ? base : NULL};
    int n_dirs = dirs[1] ? 2 : 1;
    if (zy_model_has_adapter(*m) && (s = zy_model_merge_adapter(*m))) goto fail;
    // NaN or infinite weights make every logit and loss NaN: say which tensor, up front.
    if ((s = zy_model_check_finite(*m))) goto fail;
    // The weight type: --weights, else what model.safetensors stored (typed copies for
    // decoding; the fp32 weights rounded to the same values).
    zy_wtype wt = weights >= 0 ? (zy_wtype)weights : zy_model_file_weight_type(*m);
    if ((s = zy_model_set_weight_type(*m, wt))) goto fail;
    // An image model reads pixels: it has no tokenizer, and only the commands that take
    // images run it.
    if (zy_model_get_info(*m)->image_size > 0 && strcmp(command, "eval") &&
        strcmp(command, "predict") && strcmp(command, "attention") &&
        strcmp(command, "serve")) {
        zy_cli_die("%s: %s holds an image model (%s): it reads images, not text (zhuyi "
                   "eval and zhuyi predict take image sets, zhuyi serve images)", command, dir,
                   zy_model_get_info(*m)->architecture);
        zy_model_free(*m);
        *m = NULL;
        return 1;
    }
    // A speech model reads audio: its labels are vocab.json (transcribe.h), and only the
    // commands that take audio run it.
    if (zy_model_get_info(*m)->audio_features > 0 && strcmp(command, "eval") &&
        strcmp(command, "transcribe") && strcmp(command, "serve")) {
        zy_cli_die("%s: %s holds a speech model (%s): it reads audio, not text (zhuyi "
                   "transcribe and zhuyi eval take WAV files)", command, dir,
                   zy_model_get_info(*m)->architecture);
        zy_model_free(*m);
        *m = NULL;
        return 1;
    }
    if (zy_model_get_info(*m)->audio_features > 0) return 0; // no tokenizer
    if (zy_model_get_info(*m)->image_size <= 0 && open_tokenizer(command, dirs, n_dirs, t)) {
        zy_model_free(*m);
        *m = NULL;
        return 1;
    }
    int tv = *t ? zy_tokenizer_vocab_size(*t) : 0, mv = zy_model_get_info(*m)->vocab_size;
    if (tv != mv) {
        zy_model_free(*m), zy_tokenizer_free(*t);
        *m = NULL, *t = NULL;
        return zy_cli_die("%s: %s: the tokenizer has %d tokens but the model's vocab_size is "
                          "%d; they must be the same", command, dir, tv, mv);
    }
    return 0;
fail:
    zy_model_free(*m);
    *m = NULL;
    return zy_cli_die("%s: %s: %s", command, dir, zy_last_error());
}

int zy_cli_open_model_adapter(const char *command, const char *dir, const char *adapter,
                              zy_model **m, zy_tokenizer **t) {
    return open_model(command, dir, adapter, false, m, t);
}

int zy_cli_open_model_decoder(const char *command, const char *dir, const char *adapter,
                              zy_model **m, zy_tokenizer **t) {
    return open_model(command, dir, adapter, true, m, t);
}

int zy_cli_open_model(const char *command, const char *dir, zy_model **m, zy_tokenizer **t) {
    return open_model(command, dir, NULL, false, m, t);
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
