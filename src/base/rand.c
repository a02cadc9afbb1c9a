/* rand.c -- getrandom(2), retried on EINTR and short reads. */
#include "base/rand.h"

#include "base/err.h"

#include <errno.h>
#include <sys/random.h>

int hf_rand_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    while (n) {
        ssize_t k = getrandom(b, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += k;
        n -= (size_t)k;
    }
    return HF_OK;
}
