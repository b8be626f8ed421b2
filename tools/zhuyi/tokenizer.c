// `zhuyi tokenizer train`: learn a byte-level BPE or a WordPiece vocabulary from text
// files and write it as tokenizer.json. Progress is drawn on stderr when it is a terminal. Encoding and
// decoding with a tokenizer are `zhuyi tokenize` (tokenize.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "zhuyi/zhuyi.h"
#include "zhuyi/tokenizer.h"

static const char usage_text[] =
    "usage: zhuyi tokenizer train --type bpe|wordpiece --vocab-size N --data FILE...\n"
    "                             --out PATH [--min-frequency N] [--special TOKEN]...\n"
    "                             [--no-special] [--cased]\n"
    "\n"
    "Learns a vocabulary from the text files and writes a Hugging Face tokenizer.json.\n"
    "Deterministic: the same files give the same file byte for byte.\n"
    "  bpe        byte-level BPE (GPT-2 pre-tokenizer): ids 0..255 are the bytes, then one\n"
    "             per merge, then the special tokens (default: <|endoftext|>)\n"
    "  wordpiece  BERT's WordPiece, as the tokenizers library's WordPieceTrainer: BPE merges\n"
    "             on the normalised words with \"##\" continuations; ids: the special\n"
    "             tokens (default [PAD] [UNK] [CLS] [SEP] [MASK]), the alphabet, the merged\n"
    "             pieces\n"
    "\n"
    "  --type T             bpe or wordpiece\n"
    "  --vocab-size N       total vocabulary size, specials included (bpe: 256 +\n"
    "                       specials .. 16777215)\n"
    "  --data FILE...       one or more text files (read whole)\n"
    "  --out PATH           where to write tokenizer.json (atomically)\n"
    "  --min-frequency N    stop when the best pair occurs fewer than N times (default 2)\n"
    "  --special TOKEN      a special token (repeatable; replaces the default)\n"
    "  --no-special         no special tokens at all (bpe; WordPiece needs [UNK])\n"
    "  --cased              wordpiece: keep case and accents (default: lower-case and\n"
    "                       strip accents, as an uncased BERT)\n";

static int progress(const char *stage, size_t done, size_t total, void *user) {
    (void)user;
    if (!strcmp(stage, "counting"))
        fprintf(stderr, "\rcounting words  %6.1f / %.1f MB ", done / 1e6, total / 1e6);
    else if (!strcmp(stage, "merging"))
        fprintf(stderr, "\rmerging         %zu / %zu merges ", done, total);
    else
        fprintf(stderr, "\rreading files   %zu / %zu ", done, total);
    fflush(stderr);
    return 0;
}

int zy_cli_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "train"))
        return zy_cli_die("tokenizer: unknown action '%s' (only 'train')", argv[1]);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    zy_wordpiece_train_params wp = zy_wordpiece_train_default_params();
    const char *out = NULL, *type = NULL;
    const char **files = calloc((size_t)argc, sizeof *files);
    const char **special = calloc((size_t)argc, sizeof *special);
    int n_files = 0, n_special = 0, no_special = 0, vocab = 0, rc = 1, cased = 0;
    if (!files || !special) return zy_cli_die("out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--type") && has) {
            type = argv[++i];
        } else if (!strcmp(a, "--vocab-size") && has) {
            if (zy_cli_parse_int(argv[++i], 1, (1 << 24) - 1, &vocab)) {
                zy_cli_die("--vocab-size: '%s' is not a number from 1 to 16777215", argv[i]);
                goto done;
            }
        } else if (!strcmp(a, "--min-frequency") && has) {
            if (zy_cli_parse_int(argv[++i], 1, 1 << 30, &p.min_frequency)) {
                zy_cli_die("--min-frequency: '%s' is not a positive number", argv[i]);
                goto done;
            }
        } else if (!strcmp(a, "--out") && has) {
            out = argv[++i];
        } else if (!strcmp(a, "--special") && has) {
            special[n_special++] = argv[++i];
        } else if (!strcmp(a, "--no-special")) {
            no_special = 1;
        } else if (!strcmp(a, "--cased")) {
            cased = 1;
        } else if (!strcmp(a, "--data") && has) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) files[n_files++] = argv[++i];
        } else {
            zy_cli_die("tokenizer train: unknown or incomplete option '%s' (see --help)", a);
            goto done;
        }
    }
    int is_wp = type && !strcmp(type, "wordpiece");
    if (!type || (strcmp(type, "bpe") && !is_wp)) {
        zy_cli_die("tokenizer train: --type bpe or --type wordpiece is required");
        goto done;
    }
    if (!vocab || !out || !n_files) {
        zy_cli_die("tokenizer train: --vocab-size, --data and --out are required");
        goto done;
    }
    if (!is_wp && vocab < 257) {
        zy_cli_die("--vocab-size: %d is below 257 (a byte-level BPE has the 256 bytes)", vocab);
        goto done;
    }
    if (cased && !is_wp) {
        zy_cli_die("tokenizer train: --cased is for --type wordpiece");
        goto done;
    }
    p.vocab_size = wp.vocab_size = vocab;
    wp.min_frequency = p.min_frequency;
    if (no_special || n_special) {
        p.special_tokens = wp.special_tokens = special;
        p.n_special = wp.n_special = no_special ? 0 : n_special;
    }
    if (cased) wp.lowercase = 0;
    int tty = isatty(STDERR_FILENO);
    if (tty) p.progress = wp.progress = progress;
    zy_tokenizer *t;
    zy_status s = is_wp ? zy_tokenizer_train_wordpiece(&t, files, n_files, wp)
                        : zy_tokenizer_train_bpe(&t, files, n_files, p);
    if (tty) fputc('\n', stderr);
    if (s) {
        zy_cli_die("tokenizer train: %s", zy_last_error());
        goto done;
    }
    s = zy_tokenizer_save(t, out);
    if (s) {
        zy_cli_die("tokenizer train: %s", zy_last_error());
    } else {
        if (is_wp)
            fprintf(stderr, "zhuyi: wrote %s: %d tokens (WordPiece)\n", out,
                    zy_tokenizer_vocab_size(t));
        else
            fprintf(stderr, "zhuyi: wrote %s: %d tokens (%d merges)\n", out,
                    zy_tokenizer_vocab_size(t), zy_tokenizer_merge_count(t));
        rc = 0;
    }
    zy_tokenizer_free(t);
done:
    free(files);
    free(special);
    return rc;
}
