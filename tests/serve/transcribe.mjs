// OpenAI's npm client's audio.transcriptions.create against a running `zhuyi serve` with
// a speech model. Run by tests/cli/serve_speech.sh (when make test-serve installed the
// client), which passes, in the environment:
//   ZY_SERVE_URL     the server (the client's baseURL is $URL/v1)
//   ZY_SERVE_PEERS   where npm installed openai (build/serve-peers)
//   ZY_SERVE_MODEL   the speech model's name
//   ZY_SERVE_WAV     a WAV file to upload
//   ZY_SERVE_EXPECT  a file holding `zhuyi transcribe DIR WAV`'s text (and a newline)
// Checks: the default (json) response's text is the expected one; response_format "text"
// gives the same string; a non-PCM upload makes the client throw an APIError 400.
import { createRequire } from "node:module";
import { createReadStream, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { check, failed, watchdog } from "./check.mjs";

const URL_ = process.env.ZY_SERVE_URL || "http://127.0.0.1:8080";
const PEERS = process.env.ZY_SERVE_PEERS || "build/serve-peers";
const MODEL = process.env.ZY_SERVE_MODEL || "asr";
const WAV = process.env.ZY_SERVE_WAV;
const EXPECT = readFileSync(process.env.ZY_SERVE_EXPECT, "utf8").trim();
const require = createRequire(path.resolve(PEERS, "package.json"));
const OpenAI = require("openai");
const { APIError } = OpenAI;

const timer = watchdog(60000, "the openai transcription test");
const client = new OpenAI({ baseURL: URL_ + "/v1", apiKey: "none", timeout: 20000, maxRetries: 0 });

await check("audio.transcriptions.create (json)", async () => {
    const r = await client.audio.transcriptions.create({ file: createReadStream(WAV), model: MODEL });
    if (r.text !== EXPECT) throw new Error(`text '${r.text}', expected '${EXPECT}'`);
    return `'${r.text}'`;
});
await check("audio.transcriptions.create (response_format text)", async () => {
    const r = await client.audio.transcriptions.create({
        file: createReadStream(WAV), model: MODEL, response_format: "text" });
    if (String(r).trim() !== EXPECT) throw new Error(`text '${r}', expected '${EXPECT}'`);
    return `'${String(r).trim()}'`;
});
await check("a file that is not a WAV: APIError 400", async () => {
    const junk = path.join(os.tmpdir(), `zy_not_wav_${process.pid}.wav`);
    writeFileSync(junk, "this is not audio");
    try {
        await client.audio.transcriptions.create({ file: createReadStream(junk), model: MODEL });
    } catch (e) {
        if (e instanceof APIError && e.status === 400) return e.message.slice(0, 80);
        throw e;
    } finally {
        unlinkSync(junk);
    }
    throw new Error("no error");
});
clearTimeout(timer);
process.exit(failed() ? 1 : 0);
