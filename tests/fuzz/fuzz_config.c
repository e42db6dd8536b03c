/*
 * fuzz_config: proto/mrx_config.c against arbitrary mrxd.conf content. A
 * config that loads must save and load back to the same settings.
 */
#include "mrx_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

/* Remove the scratch folder at exit, however the driver ends (libFuzzer
 * exits on its own). */
static void
remove_dir(void)
{
    char path[96];

    snprintf(path, sizeof path, "%s/mrxd.conf", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/copy.conf", dir);
    unlink(path);
    rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mrx_config cfg, back;
    char path[96], copy[96];

    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/mrx-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    snprintf(path, sizeof path, "%s/mrxd.conf", dir);
    snprintf(copy, sizeof copy, "%s/copy.conf", dir);
    {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
            abort();
    }
    if (mrx_config_load(&cfg, path) == 0) {
        if (mrx_config_save(&cfg, copy) != 0 || mrx_config_load(&back, copy) != 0 ||
            strcmp(cfg.name, back.name) != 0 || strcmp(cfg.fpr, back.fpr) != 0 ||
            cfg.role != back.role || cfg.n_listen != back.n_listen)
            abort();
        mrx_config_release(&back);
        mrx_config_release(&cfg);
    }
    unlink(path);
    unlink(copy);
    return 0;
}
