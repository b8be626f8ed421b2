// llama.cpp as a peer, through the npm package node-llama-cpp (pinned 3.21.1 by the scripts
// that install it; it ships llama.cpp's libraries for linux-x64 but no command-line tools).
// Loads a GGUF file on the CPU, evaluates a prompt and decodes greedily (temperature 0), and
// prints one JSON object:
//   {"prompt_ids": [...], "ids": [...], "n_prompt": P, "n_gen": G, "threads": T,
//    "prompt_tok_s": X, "gen_tok_s": Y, "text": "...", "prompt_text_ids": [...]}
// prompt_tok_s is P over the time to the first new token (the prompt's batch), gen_tok_s
// the tokens after the first over the time they took (one decode step each), as
// llama-bench's pp and tg. Used by tests/peers/gguf_peers.sh (greedy ids against zhuyi's)
// and by benchmarks (llama.cpp's speed on the same file).
//
// usage: node bench/llama_peer.mjs --model FILE [--peers DIR]
//          [--prompt-ids "1 2 3" | --prompt TEXT | --prompt-tokens N]
//          [--n-predict N] [--threads N] [--exact] [--tokenize TEXT]
//   --peers DIR         where node_modules/node-llama-cpp is (default build/peers, or
//                       $ZY_PEERS)
//   --prompt-ids IDS    the prompt as token ids (space- or comma-separated)
//   --prompt TEXT       the prompt as text, tokenized by llama.cpp (no BOS added)
//   --prompt-tokens N   a prompt of N ids cut from a repeated English sentence (benchmarks)
//   --n-predict N       new tokens (default 128); decoding stops early only at an
//                       end-of-generation token
//   --threads N         llama.cpp's threads (default 2)
//   --exact             f32 KV cache and no flash attention: llama.cpp's arithmetic as close
//                       to zhuyi's as it goes (tests); default: llama.cpp's defaults (f16
//                       cache, flash attention as it chooses)
//   --tokenize TEXT     also print llama.cpp's ids for TEXT as "prompt_text_ids"
//   --follow-ids IDS    instead of its own greedy ids, feed these after the prompt, one at
//                       a time (teacher-forced), and print for each position llama.cpp's
//                       most probable next token and its probability, and the given id's, as
//                       "follow": [{"top", "p_top", "id", "p_id"}, ...] (probabilities at
//                       temperature 1, the whole vocabulary: how near a tie a choice was)
// Embedding models (a "bert" file): no generation; instead
//   --embed-ids IDS     the embedding of these ids (the model's pooling, e.g. mean) as
//                       "embedding" (repeatable: "embeddings", one per --embed-ids)
// Nothing is downloaded or built: the prebuilt binary is used or the script fails.
// Threads: llama.cpp's threads wait for each other by spinning, so asking for more threads
// than the cores that are free collapses its speed (measured on the shared 2-core
// machine with one core busy: generation 114 tokens/s at --threads 1, 1.6-2.4 at 2).
// Benchmarks should say how busy the machine was, or use --threads 1.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

function parseArgs(argv) {
    const o = { nPredict: 128, threads: 2, exact: false };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        const need = () => {
            if (v === undefined) throw new Error(`${a} needs a value`);
            i++;
            return v;
        };
        if (a === "--model") o.model = need();
        else if (a === "--peers") o.peers = need();
        else if (a === "--prompt-ids")
            o.promptIds = need().split(/[\s,]+/).filter(Boolean).map(Number);
        else if (a === "--prompt") o.prompt = need();
        else if (a === "--prompt-tokens") o.promptTokens = Number(need());
        else if (a === "--n-predict") o.nPredict = Number(need());
        else if (a === "--threads") o.threads = Number(need());
        else if (a === "--tokenize") o.tokenize = need();
        else if (a === "--exact") o.exact = true;
        else if (a === "--follow-ids")
            o.followIds = need().split(/[\s,]+/).filter(Boolean).map(Number);
        else if (a === "--embed-ids")
            (o.embedIds ||= []).push(need().split(/[\s,]+/).filter(Boolean).map(Number));
        else throw new Error(`unknown option ${a}`);
    }
    if (!o.model) throw new Error("--model FILE is required");
    for (const [k, x] of [["--n-predict", o.nPredict], ["--threads", o.threads]])
        if (!Number.isInteger(x) || x < 1) throw new Error(`${k} must be a positive integer`);
    for (const [k, l] of [["--prompt-ids", o.promptIds], ["--follow-ids", o.followIds]])
        if (l && l.some((x) => !Number.isInteger(x) || x < 0))
            throw new Error(`${k} must be non-negative integers`);
    return o;
}

// The prompt, then `want` one id at a time in place of llama.cpp's own choices; at each
// position its most probable next token and the wanted id's probability.
async function followIds(seq, prompt, want) {
    const gen = seq.evaluateWithMetadata(prompt, { probabilities: true },
                                         { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 });
    const follow = [];
    let r = await gen.next();
    for (let i = 0; i < want.length && !r.done; i++) {
        const probs = r.value.probabilities; // sorted from the most probable down
        const [top, pTop] = probs.entries().next().value;
        follow.push({ top, p_top: pTop, id: want[i], p_id: probs.get(want[i]) ?? 0 });
        r = i + 1 < want.length ? await gen.next(want[i]) : { done: true };
    }
    await gen.return();
    return follow;
}

async function main() {
    const o = parseArgs(process.argv);
    const here = dirname(fileURLToPath(import.meta.url));
    const peers = resolve(o.peers || process.env.ZY_PEERS || join(here, "..", "build", "peers"));
    const entry = join(peers, "node_modules", "node-llama-cpp", "dist", "index.js");
    if (!existsSync(entry))
        throw new Error(`${entry} not found: install node-llama-cpp@3.21.1 there first ` +
                        "(tests/peers/gguf_peers.sh does)");
    const { getLlama, LlamaLogLevel } = await import(pathToFileURL(entry).href);
    const llama = await getLlama({
        gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
        progressLogs: false, logLevel: LlamaLogLevel.error, maxThreads: o.threads,
    });
    const model = await llama.loadModel({ modelPath: resolve(o.model), gpuLayers: 0 });
    if (o.embedIds) {
        const ctx = await model.createEmbeddingContext({
            contextSize: model.trainContextSize, threads: o.threads });
        const embeddings = [];
        for (const ids of o.embedIds) embeddings.push((await ctx.getEmbeddingFor(ids)).vector);
        const out = { model: o.model, embeddings };
        if (o.tokenize !== undefined) out.prompt_text_ids = model.tokenize(o.tokenize, false);
        process.stdout.write(JSON.stringify(out) + "\n");
        await ctx.dispose();
        await model.dispose();
        await llama.dispose();
        return;
    }
    let prompt;
    if (o.promptIds) prompt = o.promptIds;
    else if (o.prompt !== undefined) prompt = model.tokenize(o.prompt, false);
    else {
        const n = o.promptTokens || 128;
        const unit = model.tokenize(" In the beginning God created the heaven and the earth.",
                                    false);
        prompt = [];
        while (prompt.length < n) prompt.push(...unit);
        prompt = prompt.slice(0, n);
    }
    if (!prompt.length) throw new Error("the prompt is empty");
    const ctxSize = Math.min(model.trainContextSize, prompt.length + o.nPredict + 8);
    const context = await model.createContext({
        contextSize: ctxSize, threads: { ideal: o.threads, min: o.threads },
        batchSize: Math.min(512, ctxSize),
        ...(o.exact ? { flashAttention: false, experimentalKvCacheKeyType: "F32",
                        experimentalKvCacheValueType: "F32" } : {}),
    });
    const seq = context.getSequence();
    if (o.followIds) {
        const follow = await followIds(seq, prompt, o.followIds);
        process.stdout.write(JSON.stringify({ model: o.model, prompt_ids: prompt, follow }) + "\n");
        await context.dispose();
        await model.dispose();
        await llama.dispose();
        return;
    }
    const ids = [];
    const t0 = performance.now();
    let tFirst = 0, tLast = 0;
    for await (const tok of seq.evaluate(prompt, { temperature: 0 })) {
        const now = performance.now();
        if (!ids.length) tFirst = now;
        tLast = now;
        if (model.isEogToken(tok)) break; // as zhuyi generate stops at <|endoftext|>
        ids.push(tok);
        if (ids.length >= o.nPredict || prompt.length + ids.length >= ctxSize) break;
    }
    const out = {
        model: o.model, n_prompt: prompt.length, n_gen: ids.length, threads: o.threads,
        prompt_ids: prompt, ids,
        prompt_tok_s: tFirst > t0 ? prompt.length / ((tFirst - t0) / 1000) : null,
        gen_tok_s: ids.length > 1 && tLast > tFirst
            ? (ids.length - 1) / ((tLast - tFirst) / 1000) : null,
        text: model.detokenize(ids),
    };
    if (o.tokenize !== undefined) out.prompt_text_ids = model.tokenize(o.tokenize, false);
    process.stdout.write(JSON.stringify(out) + "\n");
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    process.stderr.write(`llama_peer: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
});
