/*
 * cli_util.h - what every mrx subcommand shares: exit codes, error lines,
 * bounded file reading, atomic file writing, key loading, JSON printing.
 *
 * Exit codes (the CLI's contract): 0 success or accept, 1 reject or invalid
 * input, 2 usage or I/O error. Errors are one line on stderr that starts
 * with "mrx <command>: " and names the cause.
 */
#ifndef NODE_CLI_UTIL_H
#define NODE_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "key.h"
#include "mrx_err.h"

#define CLI_OK 0
#define CLI_REJECT 1
#define CLI_USAGE 2

#define CLI_LIST_MAX 16		/* repeated options (--chain, --level, ...) */

/* The current command, for error prefixes ("mrx issue clearance"). */
extern const char *cli_cmd;

/* Prints "mrx <cmd>: <message>\n" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "mrx <cmd>: <what>: <diag>" and returns `rc_exit`. */
int cli_err_diag(int rc_exit, const char *what, const struct mrx_diag *d);

/*
 * Reads a whole file ("-" is stdin) of at most `max` bytes into a new
 * buffer (*buf, free() it). Errors are printed; returns 0 or CLI_USAGE
 * (missing/unreadable) or CLI_REJECT (over the limit: the input is bad).
 */
int cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * If `buf` holds only hex digits and white space, decodes it in place and
 * updates *len (so a COSE message may be given as bytes or as hex).
 */
void cli_maybe_unhex(uint8_t *buf, size_t *len);

/*
 * Writes `len` bytes to `path` ("-" is stdout) atomically: a temporary file
 * in the same directory, fsync, rename. An existing file is refused unless
 * `force`. Returns 0 or CLI_USAGE after printing the error.
 */
int cli_write_file(const char *path, const uint8_t *buf, size_t len,
    bool force);

/* Loads a key file; `need_private` refuses a public key. Prints errors. */
int cli_load_key(const char *path, bool need_private, struct cry_key **key);

/* The wall clock in NumericDate seconds. */
int64_t cli_now(void);

/* Lowercase hex of n bytes into out (2n+1 bytes). Returns out. */
char *cli_hex(const uint8_t *p, size_t n, char *out);

/* RFC 4648 base64url without padding into out (4*ceil(n/3)+1). */
char *cli_b64url(const uint8_t *p, size_t n, char *out);

/*
 * Decodes base64url (the standard alphabet and '=' padding are tolerated;
 * non-canonical trailing bits are not) into a new buffer (*out, free it).
 * Returns 0 or -1.
 */
int cli_b64url_decode(const char *s, size_t n, uint8_t **out, size_t *len);

/* Prints `j` indented to stdout and releases it. */
void cli_json_print(json_t *j);

/* Parse helpers that print a one-line error naming the option. */
int cli_time_opt(const char *opt, const char *s, int64_t *out);
int cli_seconds_opt(const char *opt, const char *s, int64_t *out);

/* Appends `s` to a bounded list of option values; CLI_USAGE when full. */
int cli_list_add(const char **list, size_t *n, const char *opt, const char *s);

#endif
