/*
 * log.h - one line per event on stderr, systemd-style (no colours, no
 * buffering surprises): "2026-11-27T11:06:25Z info api: POST /v1/verify
 * 200 reject 0.4ms". Never a subject id, a blinded key or a token.
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Messages above `level` are dropped. */
void log_set_level(int level);
int log_get_level(void);

void log_msg(int level, const char *sys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
