/*
 * mrxd: the node's background daemon (mrxd(8)). It owns one node home:
 * one daemon per home, held by a lock on HOME/mrxd.pid. main() reads as
 * the order of things: options, home, configuration, lock, keys, sync
 * with peers, the control API, loop, and the clean stop.
 */
#include "mrxd_control.h"
#include "mrxd_log.h"
#include "mrxd_sync.h"
#include "mrx_error.h"
#include "mrx_fs.h"
#include "mrx_ledger.h"
#include "mrx_pgp.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* The running daemon, for the loop's handlers. */
typedef struct mrxd {
    mrxd_info info;           /* what status reports */
    mrx_config config;        /* in force */
    pthread_mutex_t config_lock; /* reload vs. workers reading it */
    mrxd_control *control;    /* the control API */
    mrxd_sync *sync;          /* sync with peers */
    int foreground;           /* --foreground */
    int stopping;             /* a stop signal arrived */
} mrxd;

static int signal_pipe[2] = {-1, -1};

static void
on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    if (write(signal_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal is already pending */
    }
    errno = saved;
}

static int
install_signals(void)
{
    struct sigaction sa;

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return mrx_error_set(MRX_EIO, "pipe: %s", strerror(errno));
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: mrxd [--home DIR] [--config FILE] [--foreground]\n"
               "serve the mrx node in DIR (default $MRX_HOME, else $XDG_DATA_HOME/mrx);\n"
               "mrxd(8) describes it, mrxd.conf(5) its settings\n");
}

static int
fail(int rc)
{
    fprintf(stderr, "mrxd: %s\n", mrx_error_last());
    return mrx_error_exit_code(rc);
}

/* The home must be a folder of ours that nobody else can enter: the
 * control socket and the keys are in it. */
static int
check_home(const char *home)
{
    struct stat st;

    if (stat(home, &st) != 0)
        return mrx_error_set(errno == ENOENT ? MRX_ENOTFOUND : MRX_EIO,
                             "%s: no node here (create one with 'mrx init'): %s", home,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mrx_error_set(MRX_EINVAL, "%s: not a folder", home);
    if (st.st_uid != geteuid())
        return mrx_error_set(MRX_EDENIED, "%s: owned by uid %lu, not by this user (uid %lu)", home,
                             (unsigned long)st.st_uid, (unsigned long)geteuid());
    if (st.st_mode & 077)
        return mrx_error_set(MRX_EDENIED, "%s: open to others (mode %04o); run chmod 700 %s",
                             home, (unsigned)(st.st_mode & 07777), home);
    return 0;
}

/* Take the home's pid lock, or say who holds it. */
static int
lock_home(int *fd_out, const char *home)
{
    char *path = mrx_fs_join(home, MRX_CONTROL_PIDFILE), pid[32] = "";
    int fd, rc = 0;
    ssize_t n;

    *fd_out = -1;
    if (!path)
        return mrx_error_set(MRX_ENOMEM, "out of memory");
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        rc = mrx_error_set(MRX_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    /* a client checking whether we run holds the lock shared for a
     * moment: try a little while before calling it taken */
    for (int i = 0; i < 50 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK; i++)
        usleep(10000);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        rc = errno == EWOULDBLOCK
                 ? mrx_error_set(MRX_EEXIST, "%s is already served by mrxd (pid %s)", home,
                                 pid[0] ? pid : "?")
                 : mrx_error_set(MRX_EIO, "%s: lock: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    *fd_out = fd;
out:
    free(path);
    return rc;
}

static void
write_pid(int fd)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());

    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        mrxd_log(MRX_LOG_WARNING, "cannot write the pid file: %s", strerror(errno));
}

/* Without --foreground: run on in a child of its own session; the parent
 * waits until the child is ready (or has failed) and exits with its
 * status, so "mrxd && mrx status" works. Returns the write end of the
 * readiness pipe in the child. */
static int
daemonize(int *ready_fd)
{
    int fds[2], status;
    pid_t pid;
    char b;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return mrx_error_set(MRX_EIO, "pipe: %s", strerror(errno));
    if ((pid = fork()) < 0)
        return mrx_error_set(MRX_EIO, "fork: %s", strerror(errno));
    if (pid > 0) {
        close(fds[1]);
        if (read(fds[0], &b, 1) == 1)
            _exit(0); /* ready */
        /* the child failed and said why on stderr */
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
            _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
        _exit(1);
    }
    close(fds[0]);
    setsid();
    if (chdir("/") != 0) {
        /* the home is given as an absolute path; nothing depends on it */
    }
    *ready_fd = fds[1];
    return 0;
}

/* Once serving: tell whoever started us, and stop using the terminal. */
static void
announce_ready(mrxd *d, int ready_fd)
{
    int devnull;

    mrxd_log(MRX_LOG_INFO, "serving node %s (%s), fingerprint %s; control socket %s/%s",
             d->config.name, mrx_role_name(d->config.role), d->config.fpr, d->info.home,
             MRX_CONTROL_SOCKET);
    sd_notifyf(0, "READY=1\nMAINPID=%ld\nSTATUS=serving %s", (long)getpid(), d->config.name);
    if (ready_fd >= 0) {
        if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
            if (devnull > STDERR_FILENO)
                close(devnull);
        }
        if (write(ready_fd, "1", 1) != 1)
            mrxd_log(MRX_LOG_WARNING, "cannot signal readiness: %s", strerror(errno));
        close(ready_fd);
    }
}

/* SIGHUP: read the configuration again. A file that does not load, or
 * that changes who this node is, is refused and the old one stays. */
static void
reload(mrxd *d)
{
    mrx_config fresh;

    sd_notify(0, "RELOADING=1");
    if (mrx_config_load(&fresh, d->info.config_path) < 0) {
        mrxd_log(MRX_LOG_ERROR, "reload refused, the configuration in force stays: %s",
                 mrx_error_last());
    } else if (strcmp(fresh.name, d->config.name) != 0 || fresh.role != d->config.role ||
               strcmp(fresh.fpr, d->config.fpr) != 0) {
        mrxd_log(MRX_LOG_ERROR, "reload refused: name, role and fingerprint change only with a "
                                "new node");
        mrx_config_release(&fresh);
    } else {
        if (fresh.workers != d->config.workers)
            mrxd_log(MRX_LOG_WARNING, "\"workers\" takes effect when mrxd restarts");
        pthread_mutex_lock(&d->config_lock);
        fresh.workers = d->config.workers;
        mrx_config_release(&d->config);
        d->config = fresh;
        pthread_mutex_unlock(&d->config_lock);
        mrxd_log_set_level(d->config.log_level);
        mrxd_log(MRX_LOG_INFO, "configuration reloaded from %s", d->info.config_path);
    }
    sd_notify(0, "READY=1");
}

static int
on_signal_pipe(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    mrxd *d = arg;
    unsigned char sigs[16];
    ssize_t n = read(item->fd, sigs, sizeof sigs);

    (void)loop;
    for (ssize_t i = 0; i < n; i++) {
        if (sigs[i] == SIGHUP) {
            reload(d);
        } else if (!d->stopping) {
            d->stopping = 1;
            sd_notify(0, "STOPPING=1");
            mrxd_log(MRX_LOG_INFO, "stopping (signal %d)", sigs[i]);
            if (mrxd_control_stop(d->control))
                return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {{"home", required_argument, NULL, 'H'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"foreground", no_argument, NULL, 'f'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    const char *home_arg = NULL, *config_arg = NULL;
    char *home = NULL, *config_path = NULL;
    int opt, lock_fd = -1, ready_fd = -1, rc, code = 0;
    zmq_pollitem_t signal_item;
    zloop_t *loop = NULL;
    mrx_node *node = NULL;
    mrxd d;

    /* bundles move in 256 KiB chunks, thousands a second, allocated by
     * one thread and freed by another: keep blocks that size in the heap,
     * and a few MiB of it free, rather than map and fault in fresh pages
     * for every chunk */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);

    memset(&d, 0, sizeof d);
    mrx_config_init(&d.config);
    pthread_mutex_init(&d.config_lock, NULL);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (opt) {
        case 'H':
            home_arg = optarg;
            break;
        case 'c':
            config_arg = optarg;
            break;
        case 'f':
            d.foreground = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mrxd %s\n", PACKAGE_VERSION);
            return 0;
        case ':':
            fprintf(stderr, "mrxd: option %s needs a value\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            fprintf(stderr, "mrxd: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mrxd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* nothing inherited stays open but stdin, stdout and stderr: a
     * starter's pipe must not wait on us, nor we hold its files */
    close_range(3, ~0U, 0);

    /* home and configuration */
    umask(077);
    if ((rc = mrx_node_home_resolve(&home, home_arg)) < 0 || (rc = check_home(home)) < 0)
        goto fail;
    config_path = config_arg ? strdup(config_arg) : mrx_fs_join(home, "mrxd.conf");
    if (!config_path) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = mrx_config_load(&d.config, config_path)) < 0)
        goto fail;
    /* one daemon per home */
    if ((rc = lock_home(&lock_fd, home)) < 0)
        goto fail;
    /* keys: the node opens with every check of mrx */
    if ((rc = mrx_pgp_global_init()) < 0 || (rc = mrx_ledger_global_init()) < 0 ||
        (rc = mrx_node_open(&node, home)) < 0)
        goto fail;
    /* a configuration given with --config must describe this node */
    if (strcmp(mrx_node_config(node)->fpr, d.config.fpr) != 0 ||
        strcmp(mrx_node_config(node)->name, d.config.name) != 0 ||
        mrx_node_config(node)->role != d.config.role) {
        rc = mrx_error_set(MRX_EINVAL, "%s: name, role and fingerprint must be this node's (%s, "
                                       "%s)",
                           config_path, mrx_node_config(node)->name,
                           mrx_role_name(mrx_node_config(node)->role));
        goto fail;
    }
    mrx_node_destroy(&node);
    if (!d.foreground && (rc = daemonize(&ready_fd)) < 0)
        goto fail;
    mrxd_log_open(d.foreground);
    mrxd_log_set_level(d.config.log_level);

    /* sockets and handlers; CZMQ must leave the signals to us */
    if ((rc = install_signals()) < 0)
        goto fail;
    zsys_handler_set(NULL);
    zsys_init();
    d.info.home = home;
    d.info.config_path = config_path;
    d.info.pid = getpid();
    d.info.started = time(NULL);
    d.info.config = &d.config;
    d.info.config_lock = &d.config_lock;
    if (!(loop = zloop_new())) {
        rc = mrx_error_set(MRX_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = mrxd_sync_new(&d.sync, &d.info)) < 0 ||
        (rc = mrxd_control_new(&d.control, &d.info, loop)) < 0)
        goto fail;
    memset(&signal_item, 0, sizeof signal_item);
    signal_item.fd = signal_pipe[0];
    signal_item.events = ZMQ_POLLIN;
    zloop_poller(loop, &signal_item, on_signal_pipe, &d);

    /* loop */
    write_pid(lock_fd);
    announce_ready(&d, ready_fd);
    ready_fd = -1;
    /* a signal interrupts the poll and ends zloop_start; the signal pipe
     * says what it was on the next round */
    while (!(d.stopping && mrxd_control_drained(d.control)))
        zloop_start(loop);
    /* the workers and the sync actor end before the last line says so */
    mrxd_control_destroy(&d.control);
    mrxd_sync_destroy(&d.sync);
    mrxd_log(MRX_LOG_INFO, "stopped");
    goto out;
fail:
    /* before readiness stderr is still the caller's (a daemonizing
     * parent waits for our status) */
    code = fail(rc);
out:
    mrxd_control_destroy(&d.control);
    mrxd_sync_destroy(&d.sync);
    zloop_destroy(&loop);
    /* replies still queued leave now, before the lock tells clients we
     * are gone */
    zsys_shutdown();
    mrx_node_destroy(&node);
    if (ready_fd >= 0)
        close(ready_fd);
    if (lock_fd >= 0) {
        if (code == 0 && ftruncate(lock_fd, 0) != 0) {
            /* a stale pid is harmless: the lock is what counts */
        }
        close(lock_fd);
    }
    mrx_config_release(&d.config);
    pthread_mutex_destroy(&d.config_lock);
    mrxd_log_close();
    free(config_path);
    free(home);
    return code;
}
