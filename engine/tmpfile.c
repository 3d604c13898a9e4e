/* tmpfile.c - temporary files of their own, created exclusively.
 *
 * Every output lmsim writes (run files, fitted scenarios, sweep indexes, CSV
 * tables) is written under a temporary name and renamed when complete. A
 * fixed temporary name (OUT.tmp) lets two processes given one output write,
 * truncate or delete each other's file; here the name gets a suffix of its
 * own and is created with O_CREAT | O_EXCL, trying fresh suffixes while a
 * name exists, so a process only ever writes and removes files it created.
 * The suffix mixes the process id, the clock and the attempt: names need
 * only differ, and no result depends on them.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "lmsim/output.h"

/* Attempts before giving up (each a fresh suffix of 2^32). */
#define LM__TMP_ATTEMPTS 1000

int lm_tmp_create(char *tmp, int *fd_out) {
    size_t len = strlen(tmp);
    if (len < 8)
        return -1;
    char *x = tmp + len - 8;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t h = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
    for (int attempt = 0; attempt < LM__TMP_ATTEMPTS; attempt++) {
        h = h * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        snprintf(x, 9, "%08x", (unsigned)(h >> 32));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            if (fd_out)
                *fd_out = fd;
            else
                close(fd);
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}
