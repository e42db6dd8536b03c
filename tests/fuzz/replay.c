/*
 * replay: runs a fuzz target without libFuzzer, for make check. Each seed
 * in the corpus folder is run as it is, then as many deterministic
 * mutations of it (bytes flipped, cut, duplicated, spliced with another
 * seed). A crash, an abort from the target's invariants or a sanitizer
 * report fails the run. Output is TAP, one test per seed.
 *
 *   fuzz_NAME [CORPUS_DIR [MUTATIONS_PER_SEED]]
 *
 * The corpus defaults to $MRX_SRCDIR/tests/fuzz/corpus/NAME.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEEDS_MAX 256
#define INPUT_MAX (1 << 20)

struct seed {
    char *name;
    uint8_t *data;
    size_t size;
};

static uint64_t rng = 0x6d72782d66757a7aULL; /* fixed: every run is the same */

static uint64_t
next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t
mutate(uint8_t *out, const struct seed *s, const struct seed *other)
{
    size_t size = s->size, i;

    memcpy(out, s->data, size);
    switch (next_random() % 6) {
    case 0: /* flip a few bytes */
        for (i = 0; size && i < 1 + next_random() % 4; i++)
            out[next_random() % size] ^= (uint8_t)(1u << (next_random() % 8));
        break;
    case 1: /* cut short */
        size = size ? next_random() % size : 0;
        break;
    case 2: /* set a byte to a boundary value */
        if (size)
            out[next_random() % size] = (const uint8_t[]){0, '\n', ' ', '/', '.', 0xff, ':', '"'}
                [next_random() % 8];
        break;
    case 3: /* duplicate a run */
        if (size && size * 2 < INPUT_MAX) {
            size_t at = next_random() % size, len = 1 + next_random() % (size - at);
            memmove(out + at + len, out + at, size - at);
            size += len;
        }
        break;
    case 4: /* splice the start of this seed onto the end of another */
        if (size && other->size) {
            size_t cut = next_random() % size, from = next_random() % other->size;
            if (cut + other->size - from < INPUT_MAX) {
                memcpy(out + cut, other->data + from, other->size - from);
                size = cut + other->size - from;
            }
        }
        break;
    default: /* insert a random byte */
        if (size + 1 < INPUT_MAX) {
            size_t at = size ? next_random() % size : 0;
            memmove(out + at + 1, out + at, size - at);
            out[at] = (uint8_t)next_random();
            size++;
        }
    }
    return size;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const struct seed *)a)->name, ((const struct seed *)b)->name);
}

int
main(int argc, char **argv)
{
    static struct seed seeds[SEEDS_MAX];
    size_t n = 0, mutations = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    uint8_t *buf = malloc(INPUT_MAX * 2);
    const char *srcdir = getenv("MRX_SRCDIR");
    char corpus[4096];
    struct dirent *de;
    DIR *dir;

    if (argc > 1)
        snprintf(corpus, sizeof corpus, "%s", argv[1]);
    else
        snprintf(corpus, sizeof corpus, "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".",
                 FUZZ_NAME);
    if (!buf || !(dir = opendir(corpus))) {
        fprintf(stderr, "fuzz_%s: cannot read the corpus %s\n", FUZZ_NAME, corpus);
        return 2;
    }
    while ((de = readdir(dir)) && n < SEEDS_MAX) {
        char path[4096 + 256 + 2];
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", corpus, de->d_name);
        if (!(f = fopen(path, "rb")))
            continue;
        seeds[n].data = malloc(INPUT_MAX);
        seeds[n].size = fread(seeds[n].data, 1, INPUT_MAX, f);
        seeds[n].name = strdup(de->d_name);
        fclose(f);
        n++;
    }
    closedir(dir);
    qsort(seeds, n, sizeof seeds[0], by_name);
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
        for (size_t m = 0; m < mutations; m++) {
            size_t size = mutate(buf, &seeds[i], &seeds[next_random() % n]);
            LLVMFuzzerTestOneInput(buf, size);
        }
        /* reaching here means no crash and no broken invariant */
        printf("ok %zu - %s and %zu mutations\n", i + 1, seeds[i].name, mutations);
        fflush(stdout);
    }
    for (size_t i = 0; i < n; i++) {
        free(seeds[i].data);
        free(seeds[i].name);
    }
    free(buf);
    return 0;
}
