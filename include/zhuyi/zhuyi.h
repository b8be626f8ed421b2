// zhuyi (注意, "attention"): build, train and run attention models in C on a CPU.
// The one header to include; the parts can also be included alone.
#ifndef ZHUYI_H
#define ZHUYI_H

#include "core.h"
#include "gemm.h"
#include "nn.h"
#include "optim.h"
#include "attention.h"
#include "position.h"
#include "tokenizer.h"
#include "io.h"
#include "quant.h"
#include "gguf.h"
#include "hf.h"
#include "image.h"
#include "audio.h"
#include "speech_data.h"
#include "data.h"
#include "task.h"
#include "image_data.h"
#include "instruct.h"
#include "pairs.h"
#include "model.h"
#include "lora.h"
#include "trainer.h"
#include "sample.h"
#include "ctc.h"
#include "metrics.h"

#endif
