/*
 * peakrss: run a command and report its wall time and peak memory, for
 * make bench.
 *
 *   peakrss [-o FILE] [-l LABEL] [-s] [--] CMD [ARGS...]
 *
 * The command runs as a child (fork and exec, stdin/stdout/stderr
 * inherited). When it ends, one line goes to stderr (or to FILE, -o):
 *
 *   peakrss label=L status=0 elapsed=1.234567 maxrss_kib=9876 hwm_kib=9800 user=1.10 sys=0.20
 *
 * maxrss_kib is ru_maxrss from wait4(): the largest RSS of the child and
 * of every descendant it waited for (a "bash -c 'a | b'" pipeline reports
 * its largest member, not the sum). hwm_kib, only with -s, is the child's
 * own peak (VmHWM of its address space), read while the kernel holds it at
 * exit through ptrace(PTRACE_O_TRACEEXIT): helpers it spawned, such as
 * gpg, are not counted. Without -s it is 0. status is the exit code, or
 * 128 + the signal number; peakrss exits with it too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
usage(void)
{
    fprintf(stderr, "usage: peakrss [-o FILE] [-l LABEL] [-s] [--] CMD [ARGS...]\n");
    exit(2);
}

/* VmHWM of pid in KiB, or 0 if it cannot be read. */
static long
own_hwm(pid_t pid)
{
    char path[64], line[256];
    long kib = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static double
seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Wait for the traced child to end, reading its VmHWM when it stops at
 * exit; signals it receives are passed on unchanged. */
static pid_t
wait_traced(pid_t pid, int *status, struct rusage *ru, long *hwm)
{
    pid_t got;

    for (;;) {
        while ((got = wait4(pid, status, 0, ru)) < 0 && errno == EINTR)
            ;
        if (got < 0 || !WIFSTOPPED(*status))
            return got;
        if (*status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
            *hwm = own_hwm(pid);
            ptrace(PTRACE_CONT, pid, NULL, NULL);
        } else {
            int sig = WSTOPSIG(*status);
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(sig == SIGTRAP ? 0 : sig));
        }
    }
}

int
main(int argc, char **argv)
{
    const char *out_path = NULL, *label = "-";
    struct timespec t0, t1;
    struct rusage ru;
    int opt, status = 0, code, trace = 0;
    long hwm = 0;
    pid_t pid, got;
    FILE *out = stderr;

    while ((opt = getopt(argc, argv, "+o:l:sh")) != -1) {
        switch (opt) {
        case 'o':
            out_path = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 's':
            trace = 1;
            break;
        default:
            usage();
        }
    }
    if (optind == argc)
        usage();
    if (out_path && !(out = fopen(out_path, "a"))) {
        fprintf(stderr, "peakrss: %s: %s\n", out_path, strerror(errno));
        return 2;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((pid = fork()) < 0) {
        fprintf(stderr, "peakrss: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        if (trace && ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            fprintf(stderr, "peakrss: ptrace: %s\n", strerror(errno));
            _exit(127);
        }
        if (trace)
            raise(SIGSTOP); /* let the parent set its options first */
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "peakrss: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    if (trace) {
        while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        if (got < 0 || !WIFSTOPPED(status)) {
            fprintf(stderr, "peakrss: child did not stop for tracing\n");
            return 2;
        }
        if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
                   (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)) != 0) {
            fprintf(stderr, "peakrss: ptrace options: %s\n", strerror(errno));
            kill(pid, SIGKILL);
            return 2;
        }
        ptrace(PTRACE_CONT, pid, NULL, NULL);
        got = wait_traced(pid, &status, &ru, &hwm);
    } else {
        while ((got = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (got < 0) {
        fprintf(stderr, "peakrss: wait: %s\n", strerror(errno));
        return 2;
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(
        out,
        "peakrss label=%s status=%d elapsed=%.6f maxrss_kib=%ld hwm_kib=%ld user=%.3f sys=%.3f\n",
        label, code, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
        ru.ru_maxrss, hwm, seconds(&ru.ru_utime), seconds(&ru.ru_stime));
    if (out != stderr)
        fclose(out);
    return code;
}
