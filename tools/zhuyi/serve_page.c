// The playground page of `zhuyi serve` (GET /): serve_page.html, built into the binary as
// it is (the Makefile makes this object depend on it).
#include "serve.h"

__asm__(".section .rodata\n"
        ".global serve_page_html\n"
        ".type serve_page_html, @object\n"
        ".balign 16\n"
        "serve_page_html:\n"
        ".incbin \"tools/zhuyi/serve_page.html\"\n"
        "serve_page_html_end:\n"
        ".byte 0\n"
        ".global serve_page_html_len\n"
        ".type serve_page_html_len, @object\n"
        ".balign 4\n"
        "serve_page_html_len:\n"
        ".long serve_page_html_end - serve_page_html\n"
        ".previous\n");
