// `zhuyi attention DIR --image FILE --out map.png`: where an image model (ViT) looks. The
// image runs through the model once with its attention weights kept; the attention
// rollout of [CLS] over the patches (zy_attention_rollout, attention.h) is drawn over the
// image as a picture: the image in gray, tinted by the share of attention each patch gets
// (the heat map's colour ramp, heatmap.h), enlarged so the patches are visible. The
// predicted label and its probability are printed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heatmap.h"
#include "infer.h"
#include "kind.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi attention DIR --image FILE --out FILE.png [--mean X] [--std X]\n"
    "                       [--threads N]\n"
    "\n"
    "Runs the image FILE (PNG, PGM or PPM of the model's size) through the image model in\n"
    "DIR (a ViT from zhuyi finetune image-classify) and draws the attention rollout of its\n"
    "[CLS] token over the patches (Abnar & Zuidema 2020: the layers' head-averaged\n"
    "attention with the residual's identity, multiplied through) on the image, as a PNG;\n"
    "prints the predicted label and its probability.\n"
    "\n"
    "  --image FILE       the image\n"
    "  --out FILE.png     the picture (written atomically)\n"
    "  --mean X, --std X  the pixel normalisation the model was trained with (default 0.5,\n"
    "                     0.5, as zhuyi finetune image-classify's)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n";

typedef struct opts {
    const char *dir, *image, *out;
    float mean, std;
} opts;

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){.mean = 0.5f, .std = 0.5f};
    // --help anywhere, even where a value is due (`attention --image --help`).
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(usage_text, stdout), -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "--image") && more) o->image = argv[++i];
        else if (!strcmp(a, "--out") && more) o->out = argv[++i];
        else if (!strcmp(a, "--mean") && more) {
            if (zy_cli_parse_float(argv[++i], -100, 100, &o->mean))
                return zy_cli_die("attention: --mean '%s' is not a number", argv[i]);
        } else if (!strcmp(a, "--std") && more) {
            if (zy_cli_parse_float(argv[++i], 1e-6f, 100, &o->std))
                return zy_cli_die("attention: --std '%s' is not a positive number", argv[i]);
        } else if (!strcmp(a, "--threads") && more) {
            if (zy_cli_threads("attention", argv[++i])) return 1;
        } else if (a[0] == '-' && a[1]) {
            return zy_cli_die("attention: unknown or incomplete option '%s' with --image (see "
                              "zhuyi attention --help)", a);
        } else if (o->dir) {
            return zy_cli_die("attention: one model directory only ('%s' and '%s')", o->dir, a);
        } else {
            o->dir = a;
        }
    }
    if (!o->dir || !o->image || !o->out)
        return zy_cli_die("attention: DIR, --image FILE and --out FILE.png are required (see "
                          "zhuyi attention --help)");
    return 0;
}

// The rollout's share v in [0, 1] of a pixel's patch tints its gray value g: a blend of
// the gray and the ramp's colour at v, weighted by v (no attention: the image as it is).
static void tint(uint8_t *rgb, uint8_t g, float v) {
    char hex[8];
    zy_heatmap_colour(zy_heatmap_level(v), hex);
    unsigned c = (unsigned)strtoul(hex + 1, NULL, 16);
    float a = 0.25f + 0.6f * v;
    const uint8_t ramp[3] = {(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
    for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)lrintf((1 - a) * g + a * ramp[k]);
}

static int draw(const opts *o, const zy_image *img, const float *map, int side, int S) {
    float top = 0;
    for (int i = 0; i < side * side; i++) top = fmaxf(top, map[i]);
    int scale = S >= 224 ? 1 : (224 + S - 1) / S, W = S * scale;
    zy_image pic = {.width = W, .height = W, .channels = 3};
    if (!(pic.data = malloc((size_t)W * W * 3))) return zy_cli_die("attention: out of memory");
    int P = S / side;
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++) {
            int sy = y / scale, sx = x / scale;
            const uint8_t *p = img->data + ((size_t)sy * S + sx) * img->channels;
            uint8_t g = img->channels >= 3
                            ? (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 32768u) >> 16)
                            : p[0];
            float v = top > 0 ? map[(sy / P) * side + sx / P] / top : 0;
            tint(pic.data + ((size_t)y * W + x) * 3, g, v);
        }
    int rc = 0;
    if (zy_image_write_png(&pic, o->out)) rc = zy_cli_die("attention: %s", zy_last_error());
    free(pic.data);
    return rc;
}

int zy_cli_attention_image(int argc, char **argv) {
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("attention", o.dir, NULL, &m, &tok)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    zy_image img = {0};
    zy_session *s = NULL;
    float *pixels = NULL, *roll = NULL;
    const float **attn = NULL;
    int S = info->image_size, C = info->image_channels;
    if (S <= 0) {
        rc = zy_cli_die("attention: --image: the model in %s reads text (give --text)", o.dir);
        goto done;
    }
    if (zy_image_read(&img, o.image, C == 1 ? ZY_IMAGE_GRAY : ZY_IMAGE_RGB)) {
        rc = zy_cli_die("attention: %s", zy_last_error());
        goto done;
    }
    if (img.width != S || img.height != S) {
        rc = zy_cli_die("attention: %s is %d x %d; the model reads %d x %d images (image_size)",
                        o.image, img.width, img.height, S, S);
        goto done;
    }
    const float mean[3] = {o.mean, o.mean, o.mean}, sd[3] = {o.std, o.std, o.std};
    int T = info->max_positions, L = info->n_layer, side = (int)lrint(sqrt(T - 1.0));
    pixels = malloc((size_t)C * S * S * sizeof *pixels);
    roll = malloc((size_t)T * sizeof *roll);
    attn = calloc((size_t)L, sizeof *attn);
    if (!pixels || !roll || !attn) {
        rc = zy_cli_die("attention: out of memory");
        goto done;
    }
    zy_image_to_chw(pixels, &img, mean, sd);
    zy_session_params sp = zy_session_default_params();
    sp.batch = 1, sp.seq = 1, sp.attention_weights = true;
    zy_batch b = {.B = 1, .T = 1, .pixels = pixels, .channels = C, .height = S, .width = S};
    if (zy_session_create(&s, m, &sp) || zy_session_forward(s, &b, NULL, NULL)) {
        rc = zy_cli_die("attention: %s", zy_last_error());
        goto done;
    }
    for (int l = 0; l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "attentions.%d", l);
        attn[l] = zy_session_output(s, name, NULL, NULL);
    }
    int nd;
    int64_t sh[2];
    const float *logits = zy_session_output(s, "logits", &nd, sh);
    if (!logits || zy_attention_rollout(roll, attn, L, info->n_head, T, 0)) {
        rc = zy_cli_die("attention: %s", logits ? zy_last_error() : "no logits");
        goto done;
    }
    if ((rc = draw(&o, &img, roll + 1, side, S))) goto done;
    int K = (int)sh[1], best = 0;
    for (int k = 1; k < K; k++)
        if (logits[k] > logits[best]) best = k;
    double se = 0;
    for (int k = 0; k < K; k++) se += exp((double)logits[k] - logits[best]);
    zy_label_set *ls = NULL;
    const char *name = zy_cli_kind_model_labels("attention", m, &ls) ? NULL
                                                                      : zy_label_set_name(ls, best);
    printf("%s: %s (%.4f); the rollout of [CLS] over %d x %d patches drawn in %s\n", o.image,
           name ? name : "?", 1.0 / se, side, side, o.out);
    zy_label_set_free(ls);
done:
    zy_session_free(s);
    free(pixels), free(roll), free(attn);
    zy_image_destroy(&img);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
