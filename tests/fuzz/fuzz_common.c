/* fuzz_common.c - the sandbox of the loader fuzz targets (see fuzz_common.h).
 *
 * Layout of the sandbox, a folder made by mkdtemp under $TMPDIR (or /tmp):
 *
 *     wales_baseline.cfg, wales_devolved_ips.cfg, wales_good_work.cfg,
 *     fragments/, programmes/      copies of scenarios/ (the seeds' includes)
 *     e2e_tiny.cfg, markov.cfg ... copies of tests/data/ scenarios
 *     sweeps/                      sweep inputs go here: base = "../X.cfg"
 *     dir/                         an empty folder (hazard: @include "dir")
 *     fifo                         a FIFO (hazard: a read would block)
 *     zero -> /dev/zero            a device (hazard: endless input)
 *     loop -> loop                 a link to itself
 *
 * The source folder is compiled in (LM_FUZZ_SOURCE_DIR). The state here is
 * process-wide on purpose: libFuzzer calls the target once per input, and
 * the sandbox is made once and removed at exit (atexit), or by a watchdog
 * child when the process dies without exiting (watch_sandbox).
 */
#define _XOPEN_SOURCE 700
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LM_FUZZ_SOURCE_DIR
#error "LM_FUZZ_SOURCE_DIR must name the source tree"
#endif

static char sandbox[512];
static char path_buf[1024];
static int saved_cwd = -1; /* the working folder lm_fuzz_enter() left */

static void die(const char *what) {
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

static void copy_file(const char *from, const char *rel) {
    FILE *in = fopen(from, "rb");
    if (!in)
        die(from);
    FILE *out = fopen(lm_fuzz_path(rel), "wb");
    if (!out)
        die(rel);
    char buf[8192];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, r, out) != r)
            die(rel);
    fclose(in);
    if (fclose(out) != 0)
        die(rel);
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st;
    (void)flag;
    (void)f;
    return remove(p) == 0 ? 0 : -1;
}

static void remove_sandbox(void) {
    if (sandbox[0])
        nftw(sandbox, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    sandbox[0] = '\0';
}

/* A process killed by a finding, a timeout or Ctrl-C (libFuzzer then ends
 * with _Exit) runs no atexit handler. A watchdog child therefore holds the
 * read end of a pipe whose write end only this process has (close-on-exec):
 * the read returns when this process is gone, however it ended, and the
 * watchdog removes the sandbox. */
static void watch_sandbox(void) {
    int fd[2];
    if (pipe(fd) != 0 || fcntl(fd[1], F_SETFD, FD_CLOEXEC) != 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole process group */
        signal(SIGHUP, SIG_IGN);
        close(fd[1]);
        char c;
        ssize_t r;
        do
            r = read(fd[0], &c, 1);
        while (r > 0 || (r < 0 && errno == EINTR));
        remove_sandbox();
        _exit(0);
    }
    close(fd[0]);
}

void lm_fuzz_sandbox(void) {
    /* Copied into the sandbox without their leading "scenarios/" or "tests/data/". */
    static const char *const files[] = {"scenarios/wales_baseline.cfg",
                                        "scenarios/wales_devolved_ips.cfg",
                                        "scenarios/wales_good_work.cfg",
                                        "scenarios/fragments/wales_states.cfg",
                                        "scenarios/programmes/ips.cfg",
                                        "scenarios/programmes/work_first.cfg",
                                        "tests/data/e2e_tiny.cfg",
                                        "tests/data/markov.cfg",
                                        "tests/data/dynamics.cfg",
                                        "tests/data/programmes.cfg",
                                        NULL};
    if (sandbox[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(sandbox, sizeof sandbox, "%s/lmsim-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(sandbox))
        die("mkdtemp");
    atexit(remove_sandbox);
    watch_sandbox();
    static const char *const dirs[] = {"fragments", "programmes", "sweeps", "dir", NULL};
    for (const char *const *d = dirs; *d; d++)
        if (mkdir(lm_fuzz_path(*d), 0700) != 0)
            die(*d);
    for (const char *const *f = files; *f; f++) {
        char from[1024];
        snprintf(from, sizeof from, "%s/%s", LM_FUZZ_SOURCE_DIR, *f);
        const char *to = strncmp(*f, "tests/data/", 11) == 0 ? *f + 11 : strchr(*f, '/') + 1;
        copy_file(from, to);
    }
    if (mkfifo(lm_fuzz_path("fifo"), 0600) != 0)
        die("mkfifo");
    if (symlink("/dev/zero", lm_fuzz_path("zero")) != 0 ||
        symlink("loop", lm_fuzz_path("loop")) != 0)
        die("symlink");
}

void lm_fuzz_enter(void) {
    if (saved_cwd < 0 && (saved_cwd = open(".", O_RDONLY | O_DIRECTORY)) < 0)
        die("open .");
    if (chdir(sandbox) != 0)
        die("chdir");
}

void lm_fuzz_leave(void) {
    if (fchdir(saved_cwd) != 0)
        die("fchdir");
}

const char *lm_fuzz_path(const char *rel) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", sandbox, rel);
    return path_buf;
}

const char *lm_fuzz_write(const char *rel, const uint8_t *data, size_t n) {
    const char *p = lm_fuzz_path(rel);
    FILE *f = fopen(p, "wb");
    if (!f)
        die(rel);
    if ((n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        die(rel);
    return p;
}

void lm_fuzz_check_result(int rc, const void *obj, const lm_error *err) {
    if (rc > 0 || (rc == LM_OK) != (obj != NULL))
        __builtin_trap();
    if (rc < 0 &&
        (err->code != rc || err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof err->msg) == NULL))
        __builtin_trap();
}
