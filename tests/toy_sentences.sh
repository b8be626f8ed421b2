#!/bin/sh
# Print N seeded sentences of a toy grammar ("The cat sat on the road."), four to a line:
# varied text for tests that train a small model, so that it is not certain of every next
# token and greedy decoding is a real comparison. Usage: sh tests/toy_sentences.sh SEED N
awk -v seed="${1:-7}" -v n="${2:-400}" 'BEGIN {
    srand(seed);
    split("the a one every that this my your no his", d, " ");
    split("cat dog king word light house river child stone bird tree road", w, " ");
    split("sat ran saw made found took gave left heard kept", v, " ");
    split("on under near beside over behind into", p, " ");
    for (i = 0; i < n; i++) {
        x = d[int(rand() * 10) + 1];
        printf "%s %s %s %s %s %s.", toupper(substr(x, 1, 1)) substr(x, 2),
            w[int(rand() * 12) + 1], v[int(rand() * 10) + 1], p[int(rand() * 7) + 1],
            d[int(rand() * 10) + 1], w[int(rand() * 12) + 1];
        printf (i % 4 == 3) ? "\n" : " ";
    }
}'
