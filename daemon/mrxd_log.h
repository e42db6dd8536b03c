/*
 * mrxd_log: the daemon's log, on stderr in the foreground and to syslog
 * (the journal under systemd) otherwise. What is logged names requests,
 * outcomes and peers by fingerprint; never a case title, a file name, a
 * bundle's content or a key.
 */
#ifndef MRXD_LOG_H
#define MRXD_LOG_H

#include "mrx_config.h"

/* Log to stderr (foreground) or to syslog as "mrxd". */
void mrxd_log_open(int foreground);
void mrxd_log_close(void);

/* Messages above level are dropped. */
void mrxd_log_set_level(mrx_log_level level);

void mrxd_log(mrx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
