// /v1/audio/transcriptions of `zhuyi serve` (serve.h): OpenAI's speech-to-text endpoint
// for a speech_ctc model. The request is multipart/form-data: `file` the audio (a WAV in
// PCM or float, any rate and channels, as `zhuyi transcribe` reads it), `model`,
// optional `response_format` ("json", the default: {"text": ...}; "text": the text alone
// as text/plain; "verbose_json": {"task", "language", "duration", "text", "segments"}
// with one segment; language is the request's, else "unknown"), `language`, `prompt` and
// `temperature` (accepted and ignored: the model has one language and decodes without
// sampling), and zhuyi's `beam` (CTC prefix
// beam width, default 1: greedy). Decoding is transcribe.h's, on the engine thread with
// the model's own session.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "serve.h"
#include "textio.h"
#include "transcribe.h"

bool serve_accepts_speech(const serve_model *m) { return m->vocab != NULL; }

int serve_speech_load(serve_model *m) {
    if (zy_cli_speech_vocab("serve", m->dir, m->m, &m->vocab)) return 1;
    if (zy_session_create(&m->asr_sess, m->m, NULL) || zy_mel_create(&m->mel))
        return zy_cli_die("serve: %s: %s", m->name, zy_last_error());
    return 0;
}

void serve_speech_free(serve_model *m) {
    zy_mel_free(m->mel);
    zy_session_free(m->asr_sess);
    zy_char_vocab_free(m->vocab);
    m->mel = NULL, m->asr_sess = NULL, m->vocab = NULL;
}

int serve_run_transcriptions(serve_call *c) {
    serve_model *sm = c->model;
    const char *format = "json", *beam_s = NULL, *language = NULL;
    if (serve_req_string(c->body, "response_format", false, &format, c->err) ||
        serve_req_string(c->body, "beam", false, &beam_s, c->err) ||
        serve_req_string(c->body, "language", false, &language, c->err))
        return -1;
    int beam = 1;
    if (beam_s && zy_cli_parse_int(beam_s, 1, 64, &beam))
        return serve_bad(c->err, "beam", "'beam' is a number from 1 to 64, not '%s'", beam_s);
    bool json = !strcmp(format, "json"), verbose = !strcmp(format, "verbose_json");
    if (!json && !verbose && strcmp(format, "text"))
        return serve_bad(c->err, "response_format", "response_format '%s' is not one of json, "
                         "text, verbose_json (srt and vtt need timestamps a CTC model does "
                         "not keep)", format);
    if (!c->form)
        return serve_bad(c->err, "file", "upload the audio as multipart/form-data: "
                         "-F file=@speech.wav -F model=%s", sm->name);
    const serve_part *part = NULL;
    int n = serve_form_files(c->form, "file", &part, 1);
    if (n != 1)
        return serve_bad(c->err, "file", n ? "one 'file' per request (got %d)" :
                         "the form has no 'file' part: upload the audio as file=@speech.wav", n);
    const char *name = part->filename ? part->filename : "file";
    zy_audio a = {0};
    if (zy_audio_read_wav_memory(&a, part->data.p ? part->data.p : "", part->data.n, name))
        return serve_bad(c->err, "file", "%s", zy_last_error());
    char msg[1024] = "", *text = NULL;
    zy_cli_capture(msg, sizeof msg);
    int rc = zy_cli_transcribe_audio("transcriptions", name, sm->asr_sess, sm->mel, &a, beam,
                                     sm->vocab, &text);
    zy_cli_capture(NULL, 0);
    double seconds = a.n / (double)ZY_AUDIO_SAMPLE_RATE;
    zy_audio_destroy(&a);
    if (rc) return serve_bad(c->err, "file", "%s", msg[0] ? msg : "the model failed");
    zy_strbuf *b = c->out;
    if (!json && !verbose) {
        zy_strbuf_puts(b, text);
        zy_strbuf_puts(b, "\n");
        c->content_type = "text/plain; charset=utf-8";
    } else if (json) {
        zy_strbuf_puts(b, "{\"text\":");
        zy_cli_json_string(b, text, strlen(text));
        zy_strbuf_puts(b, "}");
    } else {
        zy_strbuf_puts(b, "{\"task\":\"transcribe\",\"language\":");
        zy_cli_json_string(b, language ? language : "unknown",
                           strlen(language ? language : "unknown"));
        zy_strbuf_printf(b, ",\"duration\":%.3f,\"text\":", seconds);
        zy_cli_json_string(b, text, strlen(text));
        zy_strbuf_printf(b, ",\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":%.3f,"
                         "\"text\":", seconds);
        zy_cli_json_string(b, text, strlen(text));
        zy_strbuf_puts(b, "}]}");
    }
    free(text);
    return b->oom ? serve_fail(c->err, 500, "server_error", NULL, NULL, "out of memory") : 0;
}
