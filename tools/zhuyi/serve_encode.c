// The encoder endpoints of `zhuyi serve` (serve.h): none yet.
#include "serve.h"

const serve_route serve_encoder_routes[] = {{NULL, NULL, NULL, NULL}};
const int serve_n_encoder_routes = 0;
