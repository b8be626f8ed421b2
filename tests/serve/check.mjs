// What the real-client tests of zhuyi serve (openai.mjs, page.mjs) share: one
// "ok ..."/"FAIL ..." line per check, the count of failures, and a watchdog that ends a
// run that takes too long.
let failures = 0;

export const ok = (what) => console.log(`ok   ${what}`);

export function bad(what, e) {
    failures++;
    console.log(`FAIL ${what}`);
    if (e) console.log(`     | ${String(e && e.message ? e.message : e).split("\n").slice(0, 4).join("\n     | ")}`);
}

// Run one check: fn returns the text to print after "ok", or throws. true if it passed.
export async function check(what, fn) {
    try {
        const r = await fn();
        ok(r ? `${what}: ${r}` : what);
        return true;
    } catch (e) {
        bad(what, e);
        return false;
    }
}

export const failed = () => failures;

// After ms, say what took too long, run cleanup (may be async), and exit 1.
export function watchdog(ms, what, cleanup) {
    return setTimeout(async () => {
        bad(`${what} took more than ${ms / 1000} s (watchdog)`);
        try { if (cleanup) await cleanup(); } catch (e) { /* ending anyway */ }
        process.exit(1);
    }, ms);
}
