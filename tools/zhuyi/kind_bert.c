// The BERT kind of `zhuyi pretrain` and `zhuyi eval` (kind.h): masked-LM and
// next-sentence pretraining on documents of sentences. The text files become one corpus
// (zy_corpus: BERT's format, a sentence a line and a blank line between documents, or
// prose cut into sentences); the last documents are held out for validation; the
// bert-mlm source (data.h) makes [CLS] A [SEP] B [SEP] examples, masked dynamically for
// training and with fixed masks (seed BERT_EVAL_SEED, one pass) for validation and
// `zhuyi eval`, so both score the same masks. Not here: flags shared with GPT, the loop,
// saving (pretrain*.c), the evaluation loop (eval.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kind.h"
#include "zhuyi/zhuyi.h"

// Validation and `zhuyi eval` build and mask their examples from this seed (not the run's
// --seed), so evaluating a run's directory on its --val-data file gives its val metrics.
#define BERT_EVAL_SEED 12345

typedef struct bert_opts {
    bool prose;         // --format prose (else lines: BERT's format)
    int doc_sentences;  // --doc-sentences: prose documents end at a paragraph past this
    bool whole_word;    // --whole-word-mask
    bool no_nsp;        // --no-nsp
    float mask_prob;    // --mask-prob
    int dupe_factor;    // --dupe-factor
} bert_opts;

typedef struct bert_data {
    zy_corpus train, val;
    uint8_t *cont;      // (V) word-continuation flags, or NULL
} bert_data;

static void bert_opts_init(void *o) {
    *(bert_opts *)o = (bert_opts){.doc_sentences = 32, .mask_prob = 0.15f, .dupe_factor = 1};
}

static int bad_value(const char *cmd, const char *flag, const char *value) {
    zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, value);
    return -2;
}

static int bert_parse_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    bert_opts *o = opts;
    if (!strcmp(flag, "--whole-word-mask")) {
        o->whole_word = true;
        return 0;
    }
    if (!strcmp(flag, "--no-nsp")) {
        o->no_nsp = true;
        return 0;
    }
    bool fmt = !strcmp(flag, "--format"), docs = !strcmp(flag, "--doc-sentences"),
         mp = !strcmp(flag, "--mask-prob"), dupe = !strcmp(flag, "--dupe-factor");
    if (!fmt && !docs && !mp && !dupe) return -1;
    if (!value) {
        zy_cli_die("%s: %s needs a value (see --help)", cmd, flag);
        return -2;
    }
    if (fmt) {
        if (strcmp(value, "lines") && strcmp(value, "prose")) return bad_value(cmd, flag, value);
        o->prose = !strcmp(value, "prose");
    } else if (docs) {
        if (zy_cli_parse_int(value, 0, 1 << 30, &o->doc_sentences))
            return bad_value(cmd, flag, value);
    } else if (dupe) {
        if (zy_cli_parse_int(value, 1, 10000, &o->dupe_factor)) return bad_value(cmd, flag, value);
    } else {
        char *end;
        double v = strtod(value, &end);
        if (!*value || *end || !(v > 0 && v <= 1)) return bad_value(cmd, flag, value);
        o->mask_prob = (float)v;
    }
    return 1;
}

// BERT models with a masked-LM head (BertForPreTraining, BertForMaskedLM).
// The pretraining architectures (not BertModel, which has no loss, nor the task heads).
static bool bert_is_model(const zy_model_info *info) {
    return !strcmp(info->architecture, "BertForPreTraining") ||
           !strcmp(info->architecture, "BertForMaskedLM");
}

static bool has_nsp(const zy_model *m) {
    return !strcmp(zy_model_get_info(m)->architecture, "BertForPreTraining");
}

// Without next-sentence prediction a new model has no NSP head (nor pooler) to carry.
static int bert_config(const void *opts, const cli_data *d, const char *cmd, zy_config *c) {
    (void)d;
    const bert_opts *o = opts;
    const char *mlm[] = {"BertForMaskedLM"};
    if (o->no_nsp && zy_config_set_strings(c, "architectures", mlm, 1))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

static int bert_check(const void *opts, const char *cmd, const zy_model *m,
                      const zy_tokenizer *t, bool train) {
    const bert_opts *o = opts;
    const zy_special roles[] = {ZY_SPECIAL_CLS, ZY_SPECIAL_SEP, ZY_SPECIAL_MASK,
                                ZY_SPECIAL_PAD, ZY_SPECIAL_UNK};
    for (int i = 0; i < 5; i++) {
        int32_t id;
        if (zy_tokenizer_special_id(t, roles[i], &id))
            return zy_cli_die("%s: the tokenizer: %s; BERT pretraining needs [CLS], [SEP], "
                              "[MASK], [PAD] and [UNK] (a WordPiece vocabulary has them)",
                              cmd, zy_last_error());
    }
    const zy_model_info *info = zy_model_get_info(m);
    if (train && !o->no_nsp && !has_nsp(m)) // evaluation scores the heads the model has
        return zy_cli_die("%s: the model is a %s: it has no next-sentence head; give "
                          "--no-nsp (masked LM only) or use a BertForPreTraining",
                          cmd, info->architecture);
    return 0;
}

static void bert_free_data(cli_data *d) {
    bert_data *b = d->impl;
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    if (b) {
        zy_corpus_destroy(&b->train);
        zy_corpus_destroy(&b->val);
        free(b->cont);
        free(b);
    }
    *d = (cli_data){0};
}

// files -> c, in the format the options say; a file without a sentence is an error.
static int read_corpus(const bert_opts *o, const char *cmd, zy_tokenizer *tok,
                       const char *const *files, int n, zy_corpus *c) {
    if (!o->prose) {
        if (zy_corpus_add_files(c, tok, files, n)) return zy_cli_die("%s: %s", cmd, zy_last_error());
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char *text;
        size_t len;
        if (zy_file_read(files[i], &text, &len)) return zy_cli_die("%s: %s", cmd, zy_last_error());
        uint64_t before = c->n_sentences;
        zy_status st = zy_corpus_add_prose(c, tok, text, len, o->doc_sentences);
        zy_free(text);
        if (st) return zy_cli_die("%s: %s: %s", cmd, files[i], zy_last_error());
        if (c->n_sentences == before)
            return zy_cli_die("%s: %s: no sentence (the file is empty or blank)", cmd, files[i]);
    }
    return 0;
}

// The last documents of c that hold at least `share` of its tokens move to val (at least
// one document, and one stays); c keeps the rest.
static int hold_out(const char *cmd, zy_corpus *c, float share, zy_corpus *val) {
    uint64_t D = c->n_documents, want = (uint64_t)((double)c->n_tokens * share), k = 0, held = 0;
    while (k < D - 1 && (k == 0 || held < want)) {
        k++;
        held = c->n_tokens - c->sentences[c->documents[D - k]];
    }
    if (k == 0)
        return zy_cli_die("%s: --val-fraction %g: the data is one document, none can be held "
                          "out (give --val-data FILE, or --val-fraction 0)", cmd, (double)share);
    for (uint64_t d = D - k; d < D; d++) {
        for (uint64_t s = c->documents[d]; s < c->documents[d + 1]; s++)
            if (zy_corpus_add_sentence(val, c->tokens + c->sentences[s],
                                       c->sentences[s + 1] - c->sentences[s]))
                return zy_cli_die("%s: %s", cmd, zy_last_error());
        zy_corpus_end_document(val);
    }
    // The training corpus is the first D - k documents: its arrays' prefixes.
    c->n_documents = D - k;
    c->n_sentences = c->documents[D - k];
    c->n_tokens = c->sentences[c->n_sentences];
    c->doc_open = false;
    return 0;
}

static zy_mlm_source_params source_params(const bert_opts *o, const bert_data *b,
                                          const zy_tokenizer *tok, bool nsp) {
    zy_mlm_source_params sp = zy_mlm_source_default_params();
    int32_t cls, sep, mask, pad;
    zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, &cls); // bert_check found them
    zy_tokenizer_special_id(tok, ZY_SPECIAL_SEP, &sep);
    zy_tokenizer_special_id(tok, ZY_SPECIAL_MASK, &mask);
    zy_tokenizer_special_id(tok, ZY_SPECIAL_PAD, &pad);
    sp.vocab_size = zy_tokenizer_vocab_size(tok);
    sp.cls_id = cls, sp.sep_id = sep, sp.mask_id = mask, sp.pad_id = pad;
    sp.nsp = nsp;
    sp.mask_prob = o->mask_prob;
    sp.word_continuation = b->cont;
    sp.dupe_factor = o->dupe_factor;
    return sp;
}

// Shared by training and evaluation: the options' continuation flags.
static int continuation(const bert_opts *o, const zy_tokenizer *tok, bert_data *b) {
    if (!o->whole_word) return 0;
    int V = zy_tokenizer_vocab_size(tok), n = 0;
    if (!(b->cont = calloc((size_t)V, 1))) return zy_cli_die("out of memory");
    for (int id = 0; id < V; id++) n += b->cont[id] = zy_tokenizer_is_continuation(tok, id);
    if (!n)
        fprintf(stderr, "zhuyi: note: --whole-word-mask: the tokenizer has no continuation "
                "pieces (\"##x\"): every token is a word\n");
    return 0;
}

static int one_pass(const char *cmd, const char *what, zy_corpus *c, zy_mlm_source_params sp,
                    int batch, zy_data_source **out) {
    sp.batch = batch, sp.seed = BERT_EVAL_SEED, sp.dupe_factor = 1; // each example once
    sp.shuffle = false, sp.one_pass = true;
    if (zy_mlm_source_create(out, c, &sp))
        return zy_cli_die("%s: %s: %s", cmd, what, zy_last_error());
    return 0;
}

// The baseline a masked-LM accuracy should beat: always predicting the training data's
// most frequent token, scored on the validation source's masks (read once, then rewound).
static int unigram_baseline(const cli_data_params *p, const zy_corpus *train,
                            zy_data_source *val) {
    int V = zy_tokenizer_vocab_size(p->tok), top = 0;
    uint64_t *freq = calloc((size_t)V, sizeof *freq);
    zy_batch b;
    if (!freq) return zy_cli_die("out of memory");
    for (uint64_t i = 0; i < train->n_tokens; i++) freq[train->tokens[i]]++;
    for (int v = 1; v < V; v++)
        if (freq[v] > freq[top]) top = v;
    free(freq);
    if (zy_batch_init(&b, &zy_data_source_get_info(val)->dims))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    double n = 0, hit = 0;
    zy_status st;
    while (!(st = zy_data_source_next(val, &b)) && b.B > 0)
        for (size_t i = 0; i < (size_t)b.B * (size_t)b.T; i++)
            if (b.targets[i] >= 0) n++, hit += b.targets[i] == top;
    zy_batch_destroy(&b);
    if (st || zy_data_source_seek(val, (zy_data_pos){0, 0}))
        return zy_cli_die("%s: validation: %s", p->cmd, zy_last_error());
    size_t len;
    const char *tok = zy_tokenizer_token_bytes(p->tok, top, &len);
    fprintf(stderr, "zhuyi: validation: %.0f masked tokens; always predicting the training "
            "data's most frequent token '%.*s' scores %.4f (the unigram baseline of "
            "mlm_accuracy)\n", n, (int)len, tok ? tok : "", n ? hit / n : 0);
    return 0;
}

static int bert_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const bert_opts *o = opts;
    bert_data *b = d->impl = calloc(1, sizeof *b);
    if (!b) return zy_cli_die("out of memory");
    zy_corpus_init(&b->train);
    zy_corpus_init(&b->val);
    if (read_corpus(o, p->cmd, p->tok, p->files, p->n_files, &b->train)) return 1;
    if (p->val_file) {
        if (read_corpus(o, p->cmd, p->tok, &p->val_file, 1, &b->val)) return 1;
    } else if (p->val_fraction > 0 && hold_out(p->cmd, &b->train, p->val_fraction, &b->val)) {
        return 1;
    }
    if (continuation(o, p->tok, b)) return 1;
    bool nsp = !o->no_nsp;
    zy_mlm_source_params sp = source_params(o, b, p->tok, nsp);
    sp.batch = p->batch, sp.seq = p->seq, sp.seed = p->seed, sp.shuffle = p->shuffle;
    if (zy_mlm_source_create(&d->train, &b->train, &sp))
        return zy_cli_die("%s: the training data%s: %s", p->cmd,
                          b->val.n_documents && !p->val_file ? " (after holding out validation)"
                                                             : "", zy_last_error());
    if (b->val.n_documents &&
        (one_pass(p->cmd, p->val_file ? "--val-data" : "the held-out validation documents "
                  "(--val-fraction)", &b->val, sp, p->batch, &d->val) ||
         unigram_baseline(p, &b->train, d->val)))
        return 1;
    d->n_train = d->train_rows = zy_data_source_get_info(d->train)->n_items;
    d->n_val = d->val ? zy_data_source_get_info(d->val)->n_items : 0;
    return 0;
}

// Every example of the files once, masks from BERT_EVAL_SEED; T defaults to the run's
// training seq, else 128 (or max_position_embeddings if smaller), B to what fits 2048
// tokens.
static int bert_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    const bert_opts *o = opts;
    const zy_model_info *c = zy_model_get_info(p->model);
    bert_data *b = d->impl = calloc(1, sizeof *b);
    if (!b) return zy_cli_die("out of memory");
    zy_corpus_init(&b->train);
    zy_corpus_init(&b->val);
    int T = p->seq ? p->seq : p->trained_seq ? p->trained_seq : 128;
    if (!p->seq && T > c->max_positions) T = c->max_positions;
    if (T > c->max_positions)
        return zy_cli_die("%s: --seq %d is longer than the model's max_position_embeddings %d",
                          p->cmd, T, c->max_positions);
    int B = p->batch ? p->batch : 2048 / T > 0 ? 2048 / T : 1;
    if (read_corpus(o, p->cmd, p->tok, p->files, p->n_files, &b->val) ||
        continuation(o, p->tok, b))
        return 1;
    zy_mlm_source_params sp = source_params(o, b, p->tok, !o->no_nsp && has_nsp(p->model));
    sp.seq = T;
    if (one_pass(p->cmd, "--data", &b->val, sp, B, &d->val)) return 1;
    d->batch = B, d->seq = T;
    d->rows = d->n_val = zy_data_source_get_info(d->val)->n_items;
    return 0;
}

const cli_kind zy_cli_kind_bert = {
    .verb = "pretrain",
    .name = "bert",
    .what = "a BERT on text: masked-LM and next-sentence pretraining",
    .default_config = "bert-mini",
    .default_tokenizer = "wordpiece:8192",
    .help =
        "model presets: bert-tiny (2 layers, 128 wide), bert-mini (4, 256), bert-small\n"
        "  (4, 512), bert-base (12, 768), or a config.json (default bert-mini; vocab_size is\n"
        "  the tokenizer's; a new model is a BertForPreTraining, or BertForMaskedLM with\n"
        "  --no-nsp)\n"
        "tokenizers: wordpiece:N (learn an N-token WordPiece vocabulary from the training\n"
        "  data, lower-cased as an uncased BERT; the default with N = 8192),\n"
        "  wordpiece-cased:N (keeping case and accents), or PATH (vocab.txt, tokenizer.json,\n"
        "  or a directory holding one); it needs [CLS] [SEP] [MASK] [PAD] [UNK]\n"
        "data: --format lines (BERT's format: a sentence a line, a blank line between\n"
        "  documents) or prose; --val-fraction holds out the last documents, at least that\n"
        "  share of the tokens. Examples are [CLS] A [SEP] B [SEP] up to --seq tokens, B the\n"
        "  text after A or (half the time) from another document; 15% of the tokens chosen\n"
        "  for prediction, of them 80% [MASK], 10% a random token, 10% unchanged; new masks\n"
        "  each epoch. Validation uses fixed masks (seed 12345), as `zhuyi eval` does.\n"
        "  --format F          lines (default) or prose: text wrapped at any width, a blank\n"
        "                      line between paragraphs, cut into sentences after . ! ?\n"
        "  --doc-sentences N   prose: a document ends at the first paragraph end once it\n"
        "                      holds N sentences (default 32; 0: each file is one)\n"
        "  --whole-word-mask   choose whole words: a token with its \"##\" pieces\n"
        "  --no-nsp            no next-sentence prediction (RoBERTa style): each example is\n"
        "                      one run of whole sentences, [CLS] text [SEP]\n"
        "  --mask-prob P       share of the tokens chosen for prediction (default 0.15)\n"
        "  --dupe-factor N     passes over the documents making examples, each cutting them\n"
        "                      differently (default 1; masks are new each epoch anyway)\n",
    .unit = "examples",
    .eval_unit = "masked tokens",
    .loss_metric = "mlm_loss",
    .opts_size = sizeof(bert_opts),
    .opts_init = bert_opts_init,
    .parse_flag = bert_parse_flag,
    .is_model = bert_is_model,
    .config = bert_config,
    .check = bert_check,
    .data = bert_data_,
    .eval_data = bert_eval_data,
    .free_data = bert_free_data,
};
