// Tests of the data pipeline (src/io/dataset.c): the --no-shuffle windows and their
// wrap-around rule, deterministic shuffled batches, tell/seek, too-short streams, and
// encoding files (several files, invalid UTF-8, empty or missing files). The training
// loop and its state file: test_trainer_loop.c; against PyTorch: test_trainer_ref.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/trainer.h"

static int32_t *iota_tokens(size_t n) {
    int32_t *t = zt_malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) t[i] = (int32_t)i;
    return t;
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

TEST(trainer_batcher_sequential_wraps) {
    // n = 3·B·T + 5: p = 0, BT, 2BT; then 5 tokens remain (< BT+1) so p goes back to 0.
    enum { B = 3, T = 4 };
    size_t n = 3 * B * T + 5;
    int32_t *tok = iota_tokens(n);
    zy_batcher *b;
    ASSERT(zy_batcher_create(&b, tok, n, B, T, false, 1) == ZY_STATUS_OK);
    int in[B * T], tg[B * T];
    size_t want_p[] = {0, B * T, 2 * B * T, 0, B * T, 2 * B * T, 0};
    for (int s = 0; s < 7; s++) {
        zy_batcher_next(b, in, tg);
        // One read of B·T+1 consecutive tokens from p: row r starts at p + rT.
        for (int i = 0; i < B * T; i++) {
            if (in[i] != (int)(want_p[s] + (size_t)i) || tg[i] != in[i] + 1) {
                zt_fail(__FILE__, __LINE__, "step %d: inputs[%d] = %d, targets %d; expected "
                        "p = %zu", s, i, in[i], tg[i], want_p[s]);
                break;
            }
        }
    }
    zy_batcher_free(b);

    // Exactly B·T+1 tokens left after p are still read: n = 2·B·T + 1 gives 0, BT, 0, BT.
    n = 2 * B * T + 1;
    ASSERT(zy_batcher_create(&b, tok, n, B, T, false, 1) == ZY_STATUS_OK);
    for (int s = 0; s < 4; s++) {
        zy_batcher_next(b, in, tg);
        CHECK(in[0] == (s % 2) * B * T && tg[B * T - 1] == in[0] + B * T);
    }
    zy_batcher_free(b);
    free(tok);
}

TEST(trainer_batcher_too_short) {
    int32_t *tok = iota_tokens(64);
    zy_batcher *b = NULL;
    CHECK(zy_batcher_create(&b, tok, 4 * 8, 4, 8, false, 1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "fewer than one batch") != NULL);
    CHECK(zy_batcher_create(&b, tok, 4 * 8, 4, 8, true, 1) == ZY_STATUS_INVALID_ARGUMENT);
    ASSERT(zy_batcher_create(&b, tok, 4 * 8 + 1, 4, 8, true, 1) == ZY_STATUS_OK);
    int in[32], tg[32];
    for (int s = 0; s < 3; s++) { // one batch per epoch: always all four windows
        zy_batcher_next(b, in, tg);
        CHECK(rows_are_windows(in, tg, 4, 8));
    }
    zy_batcher_free(b);
    free(tok);
}

TEST(trainer_batcher_shuffle_deterministic) {
    enum { B = 4, T = 8, STEPS = 40 };
    size_t n = 1000; // 124 windows in epoch 0: 31 batches, then epoch 1
    int32_t *tok = iota_tokens(n);
    zy_batcher *a, *b, *c;
    ASSERT(zy_batcher_create(&a, tok, n, B, T, true, 42) == ZY_STATUS_OK);
    ASSERT(zy_batcher_create(&b, tok, n, B, T, true, 42) == ZY_STATUS_OK);
    ASSERT(zy_batcher_create(&c, tok, n, B, T, true, 43) == ZY_STATUS_OK);
    int ia[B * T], ta[B * T], ib[B * T], tb[B * T], ic[B * T], tc[B * T];
    int same_as_other_seed = 0, sequential = 0;
    unsigned char seen[1000] = {0};
    int dup = 0, windows0 = (int)((n - 1) / T), covered = 0;
    for (int s = 0; s < STEPS; s++) {
        zy_batcher_next(a, ia, ta);
        zy_batcher_next(b, ib, tb);
        zy_batcher_next(c, ic, tc);
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
    zy_batcher_free(a);
    zy_batcher_free(b);
    zy_batcher_free(c);
    free(tok);
}

TEST(trainer_batcher_tell_seek) {
    enum { B = 2, T = 5 };
    size_t n = 97;
    int32_t *tok = iota_tokens(n);
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        zy_batcher *a, *b;
        ASSERT(zy_batcher_create(&a, tok, n, B, T, shuffle, 9) == ZY_STATUS_OK);
        ASSERT(zy_batcher_create(&b, tok, n, B, T, shuffle, 9) == ZY_STATUS_OK);
        int ia[B * T], ta[B * T], ib[B * T], tb[B * T];
        for (int s = 0; s < 23; s++) zy_batcher_next(a, ia, ta); // past an epoch / a wrap
        uint64_t e, p;
        zy_batcher_tell(a, &e, &p);
        zt_note("shuffle %d: position after 23 batches (%llu, %llu)", shuffle,
                (unsigned long long)e, (unsigned long long)p);
        ASSERT(zy_batcher_seek(b, e, p) == ZY_STATUS_OK);
        for (int s = 0; s < 30; s++) {
            zy_batcher_next(a, ia, ta);
            zy_batcher_next(b, ib, tb);
            CHECK(!memcmp(ia, ib, sizeof ia) && !memcmp(ta, tb, sizeof ta));
        }
        // Positions the stream cannot have are refused.
        CHECK(zy_batcher_seek(b, shuffle ? 0 : 1, 0) == (shuffle ? ZY_STATUS_OK
                                                                 : ZY_STATUS_INVALID_ARGUMENT));
        CHECK(zy_batcher_seek(b, 0, shuffle ? 1000 : 3) == ZY_STATUS_INVALID_ARGUMENT);
        zy_batcher_free(a);
        zy_batcher_free(b);
    }
    free(tok);
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

TEST(trainer_encode_files) {
    char dir[] = "/tmp/zy_trainer_XXXXXX";
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
