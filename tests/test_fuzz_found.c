// Regression tests for what the fuzz harnesses (fuzz/, `make fuzz`) found, one test per
// finding, each on the smallest input that showed it (its reproducer is also in the
// harness's seed corpus, fuzz/corpus/<harness>/). Meant to fail loudly under
// `make sanitize` too, where a use-after-free is reported as such.
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "test_safetensors.h"
#include "zhuyi/trainer.h"

// fuzz_trainer_state: a training state whose format or version is not zhuyi's. The reader
// freed the file's handle and then quoted its metadata strings in the error message (a
// heap use-after-free, and a message that could show garbage).
TEST(fuzz_found_trainer_state_wrong_version_message) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/training_state.safetensors", dir);
    const zy_safetensors_kv meta[] = {{"format", "zhuyi-training-state"}, {"version", "2"}};
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.metadata = meta;
    wp.n_metadata = 2;
    ASSERT(zy_safetensors_write(path, NULL, 0, wp) == ZY_STATUS_OK);
    zy_trainer_params p;
    long step;
    CHECK(zy_trainer_read_params(path, &p, &step) == ZY_STATUS_BAD_FORMAT);
    const char *msg = zy_last_error();
    zt_note("%s", msg);
    CHECK(strstr(msg, path) && strstr(msg, "format 'zhuyi-training-state' version '2'"));
    char buf[16];
    CHECK(zy_trainer_state_get(path, "version", buf, sizeof buf) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "version '2'") != NULL);
    stt_rm_dir(dir);
}
