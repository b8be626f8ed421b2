// OpenAI's own npm client (`openai`) against a running `zhuyi serve`. Run by
// tests/serve/serve_peers.sh, which passes, in the environment:
//   ZY_SERVE_URL     the server, e.g. http://127.0.0.1:PORT (the client's baseURL is $URL/v1)
//   ZY_SERVE_PEERS   where npm installed openai (build/serve-peers)
//   ZY_SERVE_MODEL   the causal LM's name (a GPT)
//   ZY_SERVE_PROMPT  the prompt of the greedy completion
//   ZY_SERVE_EXPECT  a file holding `zhuyi generate DIR --prompt "$ZY_SERVE_PROMPT"
//                    --max-tokens 12 --temperature 0`'s text
//   ZY_SERVE_N_EMBD  the model's n_embd (the length of an embedding)
//   OPENAI_API_KEY   the key (any text when the server has no --api-key)
// Checks: models.list names the model, kind causal-lm; completions.create at temperature 0
// gives `zhuyi generate`'s text; chat.completions.create with stream: true yields deltas
// and ends with a finish_reason; embeddings.create gives n_embd floats; an unknown model
// makes the client throw an APIError with status 404 (and a message).
// One "ok ..."/"FAIL ..." line per check; exits 1 if any failed. The client's timeout
// bounds each request, and a watchdog ends the run after 60 s.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

import { check, failed, watchdog } from "./check.mjs";

const URL_ = process.env.ZY_SERVE_URL || "http://127.0.0.1:8080";
const PEERS = process.env.ZY_SERVE_PEERS || "build/serve-peers";
const MODEL = process.env.ZY_SERVE_MODEL || "tiny";
const PROMPT = process.env.ZY_SERVE_PROMPT || "The cat";
const EXPECT = process.env.ZY_SERVE_EXPECT || "";
const N_EMBD = Number(process.env.ZY_SERVE_N_EMBD || 0);
const require = createRequire(path.resolve(PEERS, "package.json"));
const OpenAI = require("openai");
const { APIError } = OpenAI;

const timer = watchdog(60000, "the openai client test");

const client = new OpenAI({
    baseURL: URL_ + "/v1",
    apiKey: process.env.OPENAI_API_KEY || "none",
    timeout: 20000,
    maxRetries: 0,
});

await check("models.list", async () => {
    const ids = [];
    let mine = null;
    for await (const m of client.models.list()) {
        ids.push(m.id);
        if (m.id === MODEL) mine = m;
    }
    if (!mine) throw new Error(`${MODEL} not among ${JSON.stringify(ids)}`);
    if (mine.object !== "model" || mine.owned_by !== "zhuyi" || typeof mine.created !== "number")
        throw new Error(`entry ${JSON.stringify(mine)}`);
    const kind = mine.zhuyi && mine.zhuyi.kind;
    if (kind !== "causal-lm") throw new Error(`kind ${kind}`);
    return `${ids.join(", ")} (${MODEL}: ${kind}, ${mine.zhuyi.max_positions} positions, ` +
        `template ${mine.zhuyi.chat_template})`;
});

await check("completions.create, temperature 0, max_tokens 12 = zhuyi generate", async () => {
    const r = await client.completions.create({
        model: MODEL, prompt: PROMPT, max_tokens: 12, temperature: 0,
    });
    if (r.object !== "text_completion") throw new Error(`object ${r.object}`);
    const c = r.choices && r.choices[0];
    if (!c || typeof c.text !== "string") throw new Error(`choices ${JSON.stringify(r.choices)}`);
    if (!c.finish_reason) throw new Error("no finish_reason");
    if (EXPECT) {
        const want = readFileSync(EXPECT, "utf8");
        if (c.text !== want) throw new Error(`server ${JSON.stringify(c.text)} vs generate ${JSON.stringify(want)}`);
    }
    const u = r.usage || {};
    if (!(u.completion_tokens >= 1 && u.completion_tokens <= 12 && u.prompt_tokens >= 1))
        throw new Error(`usage ${JSON.stringify(r.usage)}`);
    return `${JSON.stringify(c.text)}, finish_reason ${c.finish_reason}, ` +
        `usage ${u.prompt_tokens}+${u.completion_tokens}`;
});

await check("chat.completions.create, stream: true", async () => {
    const s = await client.chat.completions.create({
        model: MODEL, stream: true, max_tokens: 24, temperature: 0.7, seed: 3,
        messages: [{ role: "system", content: "You are terse." },
                   { role: "user", content: "Who sat on the mat?" }],
    });
    let text = "", deltas = 0, finish = null, chunks = 0, after = 0;
    for await (const ch of s) {
        chunks++;
        if (ch.object !== "chat.completion.chunk") throw new Error(`object ${ch.object}`);
        const c = ch.choices && ch.choices[0];
        if (!c) continue;
        if (finish) after++;
        if (c.delta && typeof c.delta.content === "string" && c.delta.content) {
            text += c.delta.content;
            deltas++;
        }
        if (c.finish_reason) finish = c.finish_reason;
    }
    if (!deltas) throw new Error(`no content in ${chunks} chunks`);
    if (!finish) throw new Error(`${chunks} chunks, none with a finish_reason`);
    if (after) throw new Error(`${after} chunks after the finish_reason`);
    return `${deltas} deltas in ${chunks} chunks, finish_reason ${finish}, ${JSON.stringify(text.slice(0, 60))}`;
});

// The client asks for encoding_format "base64" (float32, little-endian) unless told, and
// decodes it itself: both forms must give the same n_embd floats.
let floats = null;
await check("embeddings.create, encoding_format float", async () => {
    const r = await client.embeddings.create({
        model: MODEL, input: ["The cat sat.", "A dog ran"], encoding_format: "float",
    });
    if (!Array.isArray(r.data) || r.data.length !== 2) throw new Error(`response ${String(JSON.stringify(r)).slice(0, 200)}`);
    const v = r.data[0].embedding;
    if (!Array.isArray(v)) throw new Error(`embedding is ${typeof v}`);
    if (N_EMBD && v.length !== N_EMBD) throw new Error(`${v.length} floats, not n_embd ${N_EMBD}`);
    if (!v.every((x) => typeof x === "number" && Number.isFinite(x))) throw new Error("not all finite numbers");
    if (r.data[1].index !== 1 || r.data[1].embedding.length !== v.length) throw new Error("second vector");
    if (v.every((x) => x === 0)) throw new Error("all zero");
    floats = v;
    return `2 vectors of ${v.length} floats`;
});
await check("embeddings.create, the client's default (base64)", async () => {
    const r = await client.embeddings.create({ model: MODEL, input: "The cat sat." });
    const v = r.data && r.data[0] && r.data[0].embedding;
    if (!v || typeof v.length !== "number") throw new Error(`embedding ${JSON.stringify(v).slice(0, 100)}`);
    if (N_EMBD && v.length !== N_EMBD) throw new Error(`${v.length} floats, not n_embd ${N_EMBD}`);
    if (floats) {
        let worst = 0;
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - floats[i]));
        if (worst > 1e-6 * (1 + Math.max(...floats.map(Math.abs)))) throw new Error(`differs from the float form by ${worst}`);
    }
    return `${v.length} floats${floats ? ", the float form's" : ""}`;
});

await check("an unknown model: APIError with status 404", async () => {
    try {
        await client.completions.create({ model: "no-such-model", prompt: "x", max_tokens: 1 });
    } catch (e) {
        if (!(e instanceof APIError)) throw new Error(`threw ${e && e.constructor && e.constructor.name}: ${e.message}`);
        if (e.status !== 404) throw new Error(`status ${e.status}: ${e.message}`);
        const msg = e.error && e.error.message;
        if (!msg) throw new Error(`no error.message in ${JSON.stringify(e.error)}`);
        return `${e.constructor.name} ${e.status} ${e.code || ""} ${JSON.stringify(msg)}`;
    }
    throw new Error("no error thrown");
});

clearTimeout(timer);
process.exit(failed() ? 1 : 0);
