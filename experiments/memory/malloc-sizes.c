// Issue 15 item 5: which allocation sizes a training run asks for. An LD_PRELOAD counter (a measuring tool, not part of
// the product): every malloc / memalign / aligned_alloc / posix_memalign of 64 KiB or more is counted in a power-of-two
// bin, and the distinct sizes of 1 MiB or more are counted; each process writes $MH_OUT.<pid> when it exits.
//   gcc -O2 -shared -fPIC -o /tmp/malloc-sizes.so experiments/memory/malloc-sizes.c -ldl
//   MH_OUT=/tmp/sizes LD_PRELOAD=/tmp/malloc-sizes.so transformers train --arch lstm --out runs/sizes --max-steps 30 ...
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static unsigned long long counts[64], bytes[64];   // by bin: floor(log2(size))
#define SLOTS 65536                                // open-addressing set of the distinct sizes >= 1 MiB
static size_t distinct[SLOTS];

static void remember(size_t size)
{
    for (size_t i = 0, home = (size * 2654435761u) % SLOTS; i < SLOTS; i++)
    {
        size_t *slot = &distinct[(home + i) % SLOTS], empty = 0;
        if (__atomic_load_n(slot, __ATOMIC_RELAXED) == size) return;
        if (__atomic_compare_exchange_n(slot, &empty, size, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) || empty == size) return;
    }
}

static void count(size_t size)
{
    if (size < (64 << 10)) return;
    int bin = 63 - __builtin_clzll(size);
    __atomic_add_fetch(&counts[bin], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&bytes[bin], size, __ATOMIC_RELAXED);
    if (size >= (1 << 20)) remember(size);
}

void *malloc(size_t size) { count(size); return __libc_malloc(size); }
void *memalign(size_t alignment, size_t size) { count(size); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(size); return __libc_memalign(alignment, size); }

int posix_memalign(void **result, size_t alignment, size_t size)
{
    static int (*next)(void **, size_t, size_t);
    if (!next) next = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    count(size);
    return next(result, alignment, size);
}

__attribute__((destructor)) static void report(void)
{
    char name[512];
    snprintf(name, sizeof name, "%s.%d", getenv("MH_OUT") ? getenv("MH_OUT") : "/tmp/malloc-sizes", (int)getpid());
    FILE *out = fopen(name, "w");
    if (!out) return;
    for (int bin = 16; bin < 48; bin++)
        if (counts[bin]) fprintf(out, "%llu KiB and up: %llu allocations, %.1f MiB\n", (1ULL << bin) >> 10, counts[bin], bytes[bin] / 1048576.0);
    unsigned long long sizes = 0;
    for (size_t i = 0; i < SLOTS; i++) sizes += distinct[i] != 0;
    fprintf(out, "distinct sizes of 1 MiB and up: %llu\n", sizes);
    fclose(out);
}
