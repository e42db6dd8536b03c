/*
 * mrxd_log: stderr or syslog, one line a message.
 */
#include "mrxd_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

static int to_syslog;
static _Atomic int threshold = MRX_LOG_INFO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void
mrxd_log_open(int foreground)
{
    to_syslog = !foreground;
    if (to_syslog)
        openlog("mrxd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
mrxd_log_close(void)
{
    if (to_syslog)
        closelog();
}

void
mrxd_log_set_level(mrx_log_level level)
{
    threshold = (int)level;
}

void
mrxd_log(mrx_log_level level, const char *fmt, ...)
{
    static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char when[32];
    struct tm tm;
    time_t now;
    va_list ap;

    if ((int)level > threshold)
        return;
    va_start(ap, fmt);
    if (to_syslog) {
        vsyslog(priorities[level], fmt, ap);
    } else {
        now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        pthread_mutex_lock(&lock);
        fprintf(stderr, "%s mrxd[%s]: ", when, mrx_log_level_name(level));
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        pthread_mutex_unlock(&lock);
    }
    va_end(ap);
}
