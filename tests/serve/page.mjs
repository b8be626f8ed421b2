// The playground page (GET /) in a real browser: playwright-core drives Debian's chromium
// (headless) against a running `zhuyi serve`. Run by tests/serve/serve_peers.sh, which
// passes, in the environment:
//   ZY_SERVE_URL     the server, e.g. http://127.0.0.1:PORT
//   ZY_SERVE_PEERS   where npm installed playwright-core (build/serve-peers)
//   ZY_SERVE_MODEL   the causal LM's name
//   ZY_SERVE_EXPECT  a file holding `zhuyi generate --prompt "$ZY_SERVE_PROMPT"
//                    --max-tokens 12 --temperature 0`'s text (optional: that check is then
//                    skipped)
//   ZY_SERVE_SHOT    where the screenshot goes (PNG)
//   CHROMIUM         the browser (default /usr/bin/chromium)
// Checks: the page lists the model and offers Chat, Completion and Attention for it; a
// chat message streams back (the reply grows: the page's own text is watched by a
// MutationObserver, so two or more lengths must be seen even when the tiny model's tokens
// come in one network read), and the send button comes back; a screenshot is not blank (it
// is decoded in the page and must have many colours); a greedy completion in the page
// equals `zhuyi generate`'s; an invalid request shows the server's message in #error; the
// attention heatmap is drawn with the layer and head pickers filled.
// One "ok ..."/"FAIL ..." line per check; exits 1 if any failed. Every wait is bounded and
// a watchdog ends the whole run after 60 s.
import { createRequire } from "node:module";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

import { bad, check, failed, watchdog } from "./check.mjs";

const URL_ = process.env.ZY_SERVE_URL || "http://127.0.0.1:8080";
const PEERS = process.env.ZY_SERVE_PEERS || "build/serve-peers";
const MODEL = process.env.ZY_SERVE_MODEL || "tiny";
const SHOT = process.env.ZY_SERVE_SHOT || "page.png";
const PROMPT = process.env.ZY_SERVE_PROMPT || "The cat";
const EXPECT = process.env.ZY_SERVE_EXPECT || "";
const require = createRequire(path.resolve(PEERS, "package.json"));
const { chromium } = require("playwright-core");

let browser = null;
const timer = watchdog(60000, "the page test", () => browser && browser.close());

try {
    browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--no-sandbox"],
        headless: true,
        timeout: 20000,
    });
    const page = await browser.newPage({ viewport: { width: 900, height: 760 } });
    page.setDefaultTimeout(10000);
    const consoleErrors = [];
    page.on("pageerror", (e) => consoleErrors.push(e.message));

    await check("GET / loads the playground", async () => {
        const res = await page.goto(URL_ + "/", { waitUntil: "load", timeout: 10000 });
        if (!res || res.status() !== 200) throw new Error(`status ${res && res.status()}`);
        const ct = res.headers()["content-type"] || "";
        if (!ct.startsWith("text/html")) throw new Error(`content-type ${ct}`);
        return `"${await page.title()}", ${ct}`;
    });

    await check(`the model picker lists ${MODEL}; Chat, Completion and Attention are offered`, async () => {
        await page.waitForSelector(`#model option[value="${MODEL}"]`, { state: "attached", timeout: 10000 });
        await page.selectOption("#model", MODEL);
        for (const t of ["#tab-chat", "#tab-completion", "#tab-attention"])
            await page.waitForSelector(t, { state: "visible", timeout: 5000 });
        for (const t of ["#tab-fill", "#tab-classify", "#tab-translate"])
            if (await page.isVisible(t)) throw new Error(`${t} is shown for a causal LM`);
        return (await page.textContent("#model-kind")).trim();
    });

    // ---- chat, streamed ----------------------------------------------------------------
    await check("chat: the reply streams into #chat-log and grows, then Send is back", async () => {
        await page.click("#tab-chat");
        await page.fill("#max-tokens", "40");
        await page.fill("#temperature", "0.8");
        await page.fill("#seed", "5");
        // Every length the reply's text takes, as the page sets it (one per event): each
        // text node the page puts in keeps its text once replaced, so a burst of events
        // observed in one callback (a loaded machine) still shows every step.
        await page.evaluate(() => {
            window.__lengths = [];
            new MutationObserver((records) => {
                for (const r of records) {
                    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
                    const c = el && el.closest(".msg[data-role=assistant] .content");
                    if (!c) continue;
                    if (r.type === "childList")
                        for (const n of r.addedNodes) window.__lengths.push(n.textContent.length);
                    else window.__lengths.push(c.textContent.length);
                }
            }).observe(document.getElementById("chat-log"),
                { childList: true, characterData: true, subtree: true });
        });
        await page.fill("#chat-input", "Hello, who sat on the mat?");
        await page.click("#chat-send");
        await page.waitForFunction(() => {
            const c = document.querySelector("#chat-log .msg[data-role=assistant] .content");
            return c && c.textContent.length > 0;
        }, null, { timeout: 15000 });
        await page.waitForSelector("#chat-send:not([disabled])", { timeout: 20000 });
        const lengths = await page.evaluate(() => window.__lengths);
        const distinct = [...new Set(lengths.filter((n) => n > 0))];
        const reply = await page.textContent("#chat-log .msg[data-role=assistant] .content");
        const user = await page.textContent("#chat-log .msg[data-role=user] .content");
        if (user !== "Hello, who sat on the mat?") throw new Error(`user message shown as ${JSON.stringify(user)}`);
        if (await page.isVisible("#error")) throw new Error(`error box: ${await page.textContent("#error-text")}`);
        if (distinct.length < 2) throw new Error(`only lengths ${JSON.stringify(lengths)} seen`);
        const status = (await page.textContent("#chat-status")).trim();
        return `${reply.length} chars in ${distinct.length} steps (${distinct.slice(0, 6).join(", ")}${distinct.length > 6 ? ", …" : ""}); ${status}`;
    });

    await check("screenshot is not blank", async () => {
        await page.screenshot({ path: SHOT, fullPage: true, timeout: 10000 });
        const bytes = statSync(SHOT).size;
        if (bytes < 8000) throw new Error(`${SHOT} is only ${bytes} bytes`);
        const png = readFileSync(SHOT).toString("base64");
        // Decode the PNG in a page of its own and count its colours.
        const p2 = await browser.newPage();
        const r = await p2.evaluate(async (b64) => {
            const img = new Image();
            img.src = "data:image/png;base64," + b64;
            await img.decode();
            const cv = document.createElement("canvas");
            cv.width = img.naturalWidth;
            cv.height = img.naturalHeight;
            const ctx = cv.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
            const seen = new Set();
            let dark = 0;
            for (let i = 0; i < d.length; i += 4) {
                seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                if (d[i] + d[i + 1] + d[i + 2] < 200) dark++;
            }
            return { w: cv.width, h: cv.height, colours: seen.size, dark };
        }, png);
        await p2.close();
        if (r.colours < 16 || r.dark < 200) throw new Error(`${JSON.stringify(r)}: blank?`);
        return `${r.w}x${r.h}, ${bytes} bytes, ${r.colours} colours`;
    });

    // ---- completion, greedy ------------------------------------------------------------
    if (EXPECT) {
        await check(`completion tab: greedy text = zhuyi generate's`, async () => {
            const want = readFileSync(EXPECT, "utf8");
            await page.click("#tab-completion");
            await page.fill("#max-tokens", "12");
            await page.fill("#temperature", "0");
            await page.fill("#seed", "");
            await page.fill("#prompt", PROMPT);
            await page.click("#complete");
            await page.waitForSelector("#complete[disabled]", { timeout: 2000 }).catch(() => {});
            await page.waitForSelector("#complete:not([disabled])", { timeout: 15000 });
            if (await page.isVisible("#error")) throw new Error(`error box: ${await page.textContent("#error-text")}`);
            const got = await page.textContent("#output .generated");
            if (got !== want) throw new Error(`page ${JSON.stringify(got)} vs generate ${JSON.stringify(want)}`);
            return JSON.stringify(got);
        });
    }

    await check("an invalid request shows the server's message in #error", async () => {
        await page.click("#tab-completion");
        await page.fill("#max-tokens", "-3");
        await page.fill("#prompt", PROMPT);
        await page.click("#complete");
        await page.waitForSelector("#error", { state: "visible", timeout: 10000 });
        const msg = (await page.textContent("#error-text")).trim();
        if (!msg || /^HTTP \d+/.test(msg)) throw new Error(`message ${JSON.stringify(msg)}`);
        await page.click("#error-close");
        await page.fill("#max-tokens", "12");
        return JSON.stringify(msg.slice(0, 100));
    });

    // ---- attention ---------------------------------------------------------------------
    await check("attention: the heatmap is drawn, layer and head pickers filled", async () => {
        await page.click("#tab-attention");
        await page.fill("#attn-input", "The cat sat on the mat.");
        await page.click("#attn-run");
        await page.waitForFunction(() => document.getElementById("attn-canvas").width > 0 ||
            !document.getElementById("error").hidden, null, { timeout: 10000 });
        if (await page.isVisible("#error")) throw new Error(`error box: ${await page.textContent("#error-text")}`);
        const r = await page.evaluate(() => {
            const cv = document.getElementById("attn-canvas");
            const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
            const seen = new Set();
            for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            return {
                w: cv.width, h: cv.height, colours: seen.size,
                layers: document.querySelectorAll("#attn-layer option").length - 1,
                heads: document.querySelectorAll("#attn-head option").length - 1,
                info: document.getElementById("attn-info").textContent,
            };
        });
        if (r.layers < 1 || r.heads < 1) throw new Error(`pickers: ${r.layers} layers, ${r.heads} heads`);
        if (r.colours < 4) throw new Error(`canvas ${r.w}x${r.h} has ${r.colours} colours`);
        // Another head: the page asks again and redraws.
        const before = r.info;
        await page.selectOption("#attn-head", "0");
        await page.waitForFunction((b) => document.getElementById("attn-info").textContent !== b &&
            document.getElementById("attn-info").textContent.includes("head 0"), before, { timeout: 10000 });
        return `${r.layers} layers, ${r.heads} heads; ${r.info}`;
    });

    await check("no script errors in the page", async () => {
        if (consoleErrors.length) throw new Error(consoleErrors.join("; "));
    });
} catch (e) {
    bad("the browser run", e);
} finally {
    try { if (browser) await browser.close(); } catch (e) { /* closing anyway */ }
    clearTimeout(timer);
}
process.exit(failed() ? 1 : 0);
