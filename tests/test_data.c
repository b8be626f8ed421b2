// Tests of the data layer (src/data/): the language-model token stream as a data source
// (the --no-shuffle windows and their wrap-around rule, deterministic shuffled batches,
// tell/seek, one-pass evaluation windows, shards of a global batch, too-short streams),
// batches, and encoding files (several files, invalid UTF-8, empty or missing files). The
// training loop and its state file: test_trainer_loop.c; against PyTorch:
// test_trainer_ref.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/data.h"

static int32_t *iota_tokens(size_t n) {
    int32_t *t = zt_malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) t[i] = (int32_t)i;
    return t;
}

static zy_data_source *stream(const int32_t *tok, size_t n, int B, int T, bool shuffle,
                              uint64_t seed) {
    zy_lm_stream_params p = {.batch = B, .seq = T, .shuffle = shuffle, .seed = seed};
    zy_data_source *s = NULL;
    if (zy_lm_stream_create(&s, tok, n, &p) != ZY_STATUS_OK) return NULL;
    return s;
}

// The next batch's inputs and targets copied to in/tg (B*T each); returns its rows.
static int next(zy_data_source *s, int *in, int *tg) {
    zy_batch b;
    if (zy_batch_init(&b, &zy_data_source_get_info(s)->dims) != ZY_STATUS_OK) return -1;
    int rows = -1;
    if (zy_data_source_next(s, &b) == ZY_STATUS_OK) {
        rows = b.B;
        memcpy(in, b.input_ids, (size_t)b.B * b.T * sizeof *in);
        memcpy(tg, b.targets, (size_t)b.B * b.T * sizeof *tg);
    }
    zy_batch_destroy(&b);
    return rows;
}

// With tokens[i] = i, a row is a window starting at inputs[r*T]; check it is
// consecutive and that targets are the inputs shifted by one.
static int rows_are_windows(const int *in, const int *tg, int B, int T) {
    for (int r = 0; r < B; r++)
        for (int t = 0; t < T; t++) {
            int x = in[r * T + t];
            if (x != in[r * T] + t || tg[r * T + t] != x + 1) return 0;
        }
    return 1;
}

TEST(data_stream_sequential_wraps) {
    // n = 3·B·T + 5: p = 0, BT, 2BT; then 5 tokens remain (< BT+1) so p goes back to 0.
    enum { B = 3, T = 4 };
    size_t n = 3 * B * T + 5;
    int32_t *tok = iota_tokens(n);
    zy_data_source *b = stream(tok, n, B, T, false, 1);
    ASSERT(b != NULL);
    const zy_data_source_info *info = zy_data_source_get_info(b);
    CHECK(!strcmp(info->kind, "lm-stream") && info->n_items == n && !info->one_pass &&
          info->dims.batch == B && info->dims.seq == T && info->dims.fields == ZY_BATCH_TARGETS);
    int in[B * T], tg[B * T];
    size_t want_p[] = {0, B * T, 2 * B * T, 0, B * T, 2 * B * T, 0};
    for (int s = 0; s < 7; s++) {
        ASSERT_EQ_INT(next(b, in, tg), B);
        // One read of B·T+1 consecutive tokens from p: row r starts at p + rT.
        for (int i = 0; i < B * T; i++) {
            if (in[i] != (int)(want_p[s] + (size_t)i) || tg[i] != in[i] + 1) {
                zt_fail(__FILE__, __LINE__, "step %d: inputs[%d] = %d, targets %d; expected "
                        "p = %zu", s, i, in[i], tg[i], want_p[s]);
                break;
            }
        }
    }
    zy_data_source_free(b);

    // Exactly B·T+1 tokens left after p are still read: n = 2·B·T + 1 gives 0, BT, 0, BT.
    n = 2 * B * T + 1;
    b = stream(tok, n, B, T, false, 1);
    ASSERT(b != NULL);
    for (int s = 0; s < 4; s++) {
        next(b, in, tg);
        CHECK(in[0] == (s % 2) * B * T && tg[B * T - 1] == in[0] + B * T);
    }
    zy_data_source_free(b);
    free(tok);
}

TEST(data_stream_too_short) {
    int32_t *tok = iota_tokens(64);
    zy_data_source *b = NULL;
    zy_lm_stream_params p = {.batch = 4, .seq = 8};
    CHECK(zy_lm_stream_create(&b, tok, 4 * 8, &p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "fewer than one batch") != NULL);
    p.shuffle = true;
    CHECK(zy_lm_stream_create(&b, tok, 4 * 8, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.one_pass = true; // shuffled evaluation makes no sense
    CHECK(zy_lm_stream_create(&b, tok, 64, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.one_pass = false;
    ASSERT(zy_lm_stream_create(&b, tok, 4 * 8 + 1, &p) == ZY_STATUS_OK);
    int in[32], tg[32];
    for (int s = 0; s < 3; s++) { // one batch per epoch: always all four windows
        next(b, in, tg);
        CHECK(rows_are_windows(in, tg, 4, 8));
    }
    // A second process would need twice the data for one global batch.
    CHECK(zy_data_source_shard(b, 1, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_data_source_shard(b, 2, 2) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(b);
    free(tok);
}

TEST(data_stream_shuffle_deterministic) {
    enum { B = 4, T = 8, STEPS = 40 };
    size_t n = 1000; // 124 windows in epoch 0: 31 batches, then epoch 1
    int32_t *tok = iota_tokens(n);
    zy_data_source *a = stream(tok, n, B, T, true, 42), *b = stream(tok, n, B, T, true, 42);
    zy_data_source *c = stream(tok, n, B, T, true, 43);
    ASSERT(a && b && c);
    int ia[B * T], ta[B * T], ib[B * T], tb[B * T], ic[B * T], tc[B * T];
    int same_as_other_seed = 0, sequential = 0;
    unsigned char seen[1000] = {0};
    int dup = 0, windows0 = (int)((n - 1) / T), covered = 0;
    for (int s = 0; s < STEPS; s++) {
        next(a, ia, ta);
        next(b, ib, tb);
        next(c, ic, tc);
        CHECK(!memcmp(ia, ib, sizeof ia) && !memcmp(ta, tb, sizeof ta));
        CHECK(rows_are_windows(ia, ta, B, T));
        same_as_other_seed += !memcmp(ia, ic, sizeof ia);
        if (s < windows0 / B) { // epoch 0: windows start at multiples of T, none twice
            for (int r = 0; r < B; r++) {
                int w = ia[r * T] / T;
                CHECK(ia[r * T] % T == 0);
                dup += seen[w]++ > 0;
                covered += seen[w] == 1;
            }
            sequential += ia[0] == s * B * T;
        }
    }
    zt_note("epoch 0: %d of %d windows covered, %d duplicates; %d batches equal under "
            "another seed; %d batches in sequential place", covered, windows0, dup,
            same_as_other_seed, sequential);
    CHECK(dup == 0 && covered == (windows0 / B) * B);
    CHECK(same_as_other_seed == 0);
    CHECK(sequential < 3); // shuffled, not the file order
    zy_data_source_free(a);
    zy_data_source_free(b);
    zy_data_source_free(c);
    free(tok);
}

TEST(data_stream_tell_seek) {
    enum { B = 2, T = 5 };
    size_t n = 97;
    int32_t *tok = iota_tokens(n);
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        zy_data_source *a = stream(tok, n, B, T, shuffle, 9), *b = stream(tok, n, B, T, shuffle, 9);
        ASSERT(a && b);
        int ia[B * T], ta[B * T], ib[B * T], tb[B * T];
        for (int s = 0; s < 23; s++) next(a, ia, ta); // past an epoch / a wrap
        zy_data_pos pos;
        zy_data_source_tell(a, &pos);
        zt_note("shuffle %d: position after 23 batches (%llu, %llu)", shuffle,
                (unsigned long long)pos.epoch, (unsigned long long)pos.pos);
        ASSERT(zy_data_source_seek(b, pos) == ZY_STATUS_OK);
        for (int s = 0; s < 30; s++) {
            next(a, ia, ta);
            next(b, ib, tb);
            CHECK(!memcmp(ia, ib, sizeof ia) && !memcmp(ta, tb, sizeof ta));
        }
        // Positions the stream cannot have are refused.
        CHECK(zy_data_source_seek(b, (zy_data_pos){shuffle ? 0 : 1, 0}) ==
              (shuffle ? ZY_STATUS_OK : ZY_STATUS_INVALID_ARGUMENT));
        CHECK(zy_data_source_seek(b, (zy_data_pos){0, shuffle ? 1000 : 3}) ==
              ZY_STATUS_INVALID_ARGUMENT);
        zy_data_source_free(a);
        zy_data_source_free(b);
    }
    free(tok);
}

// Evaluation windows: every full window once, in order, the last batch short, then empty
// batches; seeking to the start reads them again.
TEST(data_stream_one_pass) {
    enum { B = 3, T = 4 };
    size_t n = 7 * T + 3; // 7 full windows: batches of 3, 3, 1
    int32_t *tok = iota_tokens(n);
    zy_lm_stream_params p = {.batch = B, .seq = T, .one_pass = true};
    zy_data_source *s;
    ASSERT(zy_lm_stream_create(&s, tok, n, &p) == ZY_STATUS_OK);
    CHECK(zy_data_source_get_info(s)->one_pass);
    int in[B * T], tg[B * T];
    for (int round = 0; round < 2; round++) {
        int rows[5], w = 0;
        for (int k = 0; k < 5; k++) {
            rows[k] = next(s, in, tg);
            for (int r = 0; r < rows[k]; r++, w++) CHECK(in[r * T] == w * T);
            CHECK(rows_are_windows(in, tg, rows[k], T));
        }
        CHECK(rows[0] == 3 && rows[1] == 3 && rows[2] == 1 && rows[3] == 0 && rows[4] == 0);
        ASSERT(zy_data_source_seek(s, (zy_data_pos){0, 0}) == ZY_STATUS_OK);
    }
    zy_data_source_free(s);
    // One window is enough for a one-pass stream.
    CHECK(zy_lm_stream_create(&s, tok, T + 1, &p) == ZY_STATUS_OK);
    zy_data_source_free(s);
    CHECK(zy_lm_stream_create(&s, tok, T, &p) == ZY_STATUS_INVALID_ARGUMENT);
    free(tok);
}

// Shards: rank r of w yields rows [rB, (r+1)B) of every global batch of w·B rows, and the
// position is global: a 2-process run and a 1-process run with twice the batch see the
// same windows, shuffled or not, and a run can continue on another number of processes.
TEST(data_stream_shards) {
    enum { B = 2, T = 5 };
    size_t n = 301;
    int32_t *tok = iota_tokens(n);
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        zy_data_source *whole = stream(tok, n, 2 * B, T, shuffle, 4);
        zy_data_source *r0 = stream(tok, n, B, T, shuffle, 4), *r1 = stream(tok, n, B, T, shuffle, 4);
        ASSERT(whole && r0 && r1);
        ASSERT(zy_data_source_shard(r0, 0, 2) == ZY_STATUS_OK);
        ASSERT(zy_data_source_shard(r1, 1, 2) == ZY_STATUS_OK);
        int iw[2 * B * T], tw[2 * B * T], i0[B * T], t0[B * T], i1[B * T], t1[B * T];
        for (int s = 0; s < 20; s++) { // several epochs / wraps
            next(whole, iw, tw);
            next(r0, i0, t0);
            next(r1, i1, t1);
            CHECK(!memcmp(iw, i0, sizeof i0) && !memcmp(iw + B * T, i1, sizeof i1));
            CHECK(!memcmp(tw, t0, sizeof t0) && !memcmp(tw + B * T, t1, sizeof t1));
        }
        zy_data_pos pw, p0, p1;
        zy_data_source_tell(whole, &pw);
        zy_data_source_tell(r0, &p0);
        zy_data_source_tell(r1, &p1);
        CHECK(pw.epoch == p0.epoch && pw.pos == p0.pos && p0.pos == p1.pos);
        zy_data_source_free(whole);
        zy_data_source_free(r0);
        zy_data_source_free(r1);
    }
    free(tok);
}

TEST(data_batch_fields) {
    zy_batch b;
    zy_batch_dims d = {.batch = 3, .seq = 7, .seq_dec = 5, .n_values = 2,
                       .fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS | ZY_BATCH_LABELS |
                                 ZY_BATCH_VALUES | ZY_BATCH_DECODER};
    ASSERT(zy_batch_init(&b, &d) == ZY_STATUS_OK);
    CHECK(b.input_ids && b.targets && b.lengths && b.labels && b.values && b.dec_input_ids &&
          b.dec_targets && b.dec_lengths && !b.token_type_ids && !b.span_starts);
    b.input_ids[3 * 7 - 1] = 1, b.dec_targets[3 * 5 - 1] = 2, b.values[5] = 1.0f; // in bounds
    zy_batch_destroy(&b);
    CHECK(b.input_ids == NULL);
    zy_batch_dims bad = {.batch = 0, .seq = 4};
    CHECK(zy_batch_init(&b, &bad) == ZY_STATUS_INVALID_ARGUMENT);
    bad = (zy_batch_dims){.batch = 1, .seq = 4, .fields = ZY_BATCH_DECODER};
    CHECK(zy_batch_init(&b, &bad) == ZY_STATUS_INVALID_ARGUMENT);
    // Images: B x C x H x W floats; a size of 0, more than 4 channels or more than 2^31
    // floats in all is refused before anything is allocated.
    zy_batch_dims img = {.batch = 2, .seq = 1, .fields = ZY_BATCH_PIXELS | ZY_BATCH_LABELS,
                         .channels = 3, .height = 5, .width = 4};
    ASSERT(zy_batch_init(&b, &img) == ZY_STATUS_OK);
    CHECK(b.pixels && b.labels && b.channels == 3 && b.height == 5 && b.width == 4);
    b.pixels[2 * 3 * 5 * 4 - 1] = 1.0f; // in bounds
    zy_batch_destroy(&b);
    CHECK(b.pixels == NULL);
    const int sizes[4][3] = {{0, 5, 4}, {5, 5, 4}, {3, 0, 4}, {3, 16384, 16384}};
    for (int k = 0; k < 4; k++) {
        bad = img;
        bad.channels = sizes[k][0], bad.height = sizes[k][1], bad.width = sizes[k][2];
        bad.batch = 8;
        CHECK(zy_batch_init(&b, &bad) == ZY_STATUS_INVALID_ARGUMENT);
    }
    // A batch without the fields a source fills is refused, not written past.
    int32_t *tok = iota_tokens(50);
    zy_data_source *s = stream(tok, 50, 2, 4, false, 1);
    ASSERT(s != NULL);
    zy_batch_dims small = {.batch = 2, .seq = 4};
    ASSERT(zy_batch_init(&b, &small) == ZY_STATUS_OK);
    CHECK(zy_data_source_next(s, &b) == ZY_STATUS_INVALID_ARGUMENT);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    free(tok);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

TEST(data_encode_files) {
    char dir[] = "/tmp/zy_data_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char f1[64], f2[64], f3[64], missing[64];
    snprintf(f1, sizeof f1, "%s/a.txt", dir);
    snprintf(f2, sizeof f2, "%s/b.txt", dir);
    snprintf(f3, sizeof f3, "%s/empty.txt", dir);
    snprintf(missing, sizeof missing, "%s/missing.txt", dir);
    // Invalid UTF-8 (a stray continuation byte, a truncated sequence, 0xff) is data too.
    const char a[] = "In the beginning\n\x80\xc3 \xff<|endoftext|>!";
    const char b[] = "God\n";
    write_file(f1, a, sizeof a - 1);
    write_file(f2, b, sizeof b - 1);
    write_file(f3, "", 0);

    // The "byte" tokenizer: no merges, so ids are the bytes and 256 is <|endoftext|>.
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    zy_tokenizer *tok;
    ASSERT(zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp) == ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_tokenizer_vocab_size(tok), 257);
    const char *files[] = {f1, f2};
    int32_t *ids;
    size_t n;
    ASSERT(zy_dataset_encode_files(tok, files, 2, &ids, &n) == ZY_STATUS_OK);
    // File text is plain text: "<|endoftext|>" in it stays bytes; the separator is id 256.
    size_t want_n = (sizeof a - 1) + 1 + (sizeof b - 1);
    ASSERT_EQ_INT(n, want_n);
    int ok = 1;
    for (size_t i = 0; i < sizeof a - 1; i++) ok &= ids[i] == (unsigned char)a[i];
    ok &= ids[sizeof a - 1] == 256;
    for (size_t i = 0; i < sizeof b - 1; i++) ok &= ids[sizeof a + i] == (unsigned char)b[i];
    CHECK(ok);
    zy_free(ids);

    const char *bad1[] = {f1, f3};
    CHECK(zy_dataset_encode_files(tok, bad1, 2, &ids, &n) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "empty") != NULL && ids == NULL);
    const char *bad2[] = {missing};
    CHECK(zy_dataset_encode_files(tok, bad2, 1, &ids, &n) == ZY_STATUS_IO);
    CHECK(strstr(zy_last_error(), "missing.txt") != NULL);
    zt_note("missing file: %s", zy_last_error());
    zy_tokenizer_free(tok);
    unlink(f1);
    unlink(f2);
    unlink(f3);
    rmdir(dir);
}
