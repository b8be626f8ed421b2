// libFuzzer harness: tagging files in CoNLL columns and word/TAG tokens
// (src/data/task_conll.c, task_data.c, task_read.c), then features and sources.
//
// Input: 1 control byte, then the file.
//   [0] bit 0 word/TAG (else CoNLL), bit 1 skip_bad_rows, bit 2 labels not required,
//       bits 3-5 max_length 4 + 3k, bit 6 the round trip's lines end in a lone CR
// Properties:
//  - a failed read is BAD_FORMAT naming the file and a line of the text;
//  - a read gives examples that task_check.c accepts, words without white space;
//  - round trip: the sentences written back in the format read ("word TAG" lines and a
//    blank line after each sentence; "word/TAG" tokens a sentence a line), with LF or
//    lone-CR line ends, read the same;
//  - features (tags on first pieces only) and batches.
#include <stdlib.h>
#include <string.h>

#include "task_check.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    p.format = c & 1 ? ZY_TASK_FORMAT_WORD_TAG : ZY_TASK_FORMAT_CONLL;
    p.skip_bad_rows = c & 2;
    p.require_labels = !(c & 4);
    zy_task_data *d = NULL;
    zy_status st = zy_task_data_read_buffer(&d, "fuzz.conll", text, len, &p, NULL);
    if (st) {
        ft_check_error(st, d, "fuzz.conll", text, len);
        return 0;
    }
    ft_check_data(d, text, len);
    const zy_label_set *L = zy_task_data_labels(d);
    size_t cap = 2 * len + 16, n = 0;
    char *out = malloc(cap);
    bool tagged = zy_task_data_labelled(d);
    char eol = c & 64 ? '\r' : '\n';
    for (size_t i = 0; i < zy_task_data_count(d); i++) {
        const zy_task_example *e = zy_task_data_example(d, i);
        FZ_CHECK((e->tags != NULL) == tagged || !tagged); // mixed only when not required
        for (int w = 0; w < e->n_words; w++) {
            for (size_t k = 0; k < e->word_lens[w]; k++)
                FZ_CHECK(e->words[w][k] != ' ' && e->words[w][k] != '\t' &&
                         e->words[w][k] != '\n' && e->words[w][k] != '\r');
            const char *t = e->tags ? zy_label_set_name(L, e->tags[w]) : NULL;
            size_t need = e->word_lens[w] + (t ? strlen(t) : 0) + 4;
            if (n + need > cap) {
                cap = (n + need) * 2;
                out = realloc(out, cap);
            }
            memcpy(out + n, e->words[w], e->word_lens[w]);
            n += e->word_lens[w];
            if (t) {
                out[n++] = c & 1 ? '/' : ' ';
                memcpy(out + n, t, strlen(t));
                n += strlen(t);
            }
            out[n++] = c & 1 ? ' ' : eol;
        }
        out[n++] = eol;
    }
    // Mixed tagged and untagged sentences (allowed when labels are not required) do not
    // make a consistent file: compare only when all or none are tagged.
    bool mixed = false;
    for (size_t i = 0; i < zy_task_data_count(d); i++)
        mixed = mixed || (zy_task_data_example(d, i)->tags != NULL) !=
                             (zy_task_data_example(d, 0)->tags != NULL);
    // A word with a '/' and no tag cannot be written as word/TAG text unambiguously.
    if (!mixed) {
        zy_task_data *back = NULL;
        p.skip_bad_rows = false;
        st = zy_task_data_read_buffer(&back, "back.conll", out, n, &p, L);
        if (st == ZY_STATUS_OK) {
            FZ_CHECK(zy_task_data_count(back) == zy_task_data_count(d));
            for (size_t i = 0; i < zy_task_data_count(d); i++) {
                const zy_task_example *a = zy_task_data_example(d, i),
                                      *b = zy_task_data_example(back, i);
                FZ_CHECK(a->n_words == b->n_words);
                for (int w = 0; w < a->n_words; w++) {
                    FZ_CHECK(!strcmp(a->words[w], b->words[w]));
                    FZ_CHECK(!a->tags || a->tags[w] == b->tags[w]);
                }
            }
            zy_task_data_free(back);
        } else {
            // Only untagged word/TAG lines whose words hold '/' may read otherwise.
            FZ_CHECKF((c & 1) && !tagged, "the sentences written back do not read: %s",
                      zy_last_error());
        }
    }
    free(out);
    ft_check_features(d, 4 + 3 * (int)((c >> 3) & 7), 0, 3);
    zy_task_data_free(d);
    return 0;
}
