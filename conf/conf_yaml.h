/*
 * conf_yaml.h - strict reading of a YAML file into a caller's struct, shared by
 * the files of conf/ (the node's configuration, agreement drafts). Internal
 * to conf/: libfyaml's types appear here only as opaque pointers, and only
 * conf/ links libfyaml.
 *
 * A reader gives a table of the keys a mapping may hold, each with a
 * handler; conf_yaml_parse() walks the document's root mapping against the
 * top table, and a handler reads its value with the typed getters below or
 * walks a nested mapping with conf_yaml_walk(). Every error the file can
 * cause is reported as "NAME:LINE: KEY: what is wrong (what was expected)"
 * in the diag, KEY being the key path ("api.listen", "rows[2].to"), and
 * stops the walk: handlers return the getters' codes as they are.
 *
 * Lines are 1-based. A node's line is the line of its first scalar (a
 * mapping's first key, a list's first item): libfyaml 0.7 marks tokens
 * only. A key given without a value is reported at the key's line.
 *
 * None of this keeps global state: two readers may run on two threads, each
 * with its own struct conf_yaml.
 */
#ifndef CONF_YAML_H
#define CONF_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"

#define CONF_YAML_KEY_MAX 64	/* key path with its NUL, "rows[63].to" */
#define CONF_YAML_KEYS_MAX 16	/* entries of one mapping's key table */
#define CONF_YAML_VALUE_MAX 256	/* text of one scalar with its NUL */

/*
 * An unknown key whose path does not fit CONF_YAML_KEY_MAX is named by the
 * path cut short; without this flag, by the path of its mapping.
 */
#define CONF_YAML_CUT_KEYS 0x1u

struct fy_node;

/* One reading of one file; the caller's, set with conf_yaml_init(). */
struct conf_yaml {
	const char *name;	/* the file's name, for messages */
	struct mrx_diag *diag;	/* gets the first error; may be NULL */
	void *user;		/* the caller's state, for its handlers */
	unsigned flags;		/* CONF_YAML_* */
	const char *text;	/* the text being read (conf_yaml_parse) */
	size_t text_len;
};

/* One key of a mapping, as its handler sees it. */
struct conf_yaml_item {
	struct fy_node *val;	/* NULL when the key has no value */
	const char *key;	/* full key path, "api.listen" */
	int line;		/* 1-based line of the key */
};

/* A key a mapping may hold. */
struct conf_yaml_key {
	const char *name;	/* the key, "listen" */
	/* reads the value; 0 or a negative MRX_E* code, the diag set */
	int (*fn)(struct conf_yaml *, const struct conf_yaml_item *);
	const char *required;	/* what to give if missing, or NULL */
};

/* What a list key given without a value (or with ~ / null) means. */
enum conf_yaml_null {
	CONF_YAML_NULL_EMPTY,	/* an empty list */
	CONF_YAML_NULL_MISSING,	/* an error (an empty list is [] ) */
};

/*
 * Sets up `y` for reading the file called `name` (as messages show it),
 * errors going to `diag` (NULL for none), handlers getting `user`. `name`,
 * `diag` and `user` stay the caller's and must outlive the reading.
 */
void conf_yaml_init(struct conf_yaml *y, const char *name,
    struct mrx_diag *diag, void *user, unsigned flags);

/*
 * Reads the regular file `path` whole into a new buffer, NUL-terminated;
 * *buf (the caller's to free(), set only on success) and *len get it.
 * Errors, diag naming `path`: MRX_ENOENT (no such file; the message ends
 * with " (`enoent_hint`)" unless `enoent_hint` is NULL), MRX_EIO (cannot
 * open or read, not a regular file), MRX_ENOMEM, MRX_ETOOBIG (over
 * `bytes_max` bytes; the message names the limit "of `what`", e.g. "a
 * configuration file").
 */
int conf_yaml_read(const char *path, size_t bytes_max, const char *what,
    const char *enoent_hint, char **buf, size_t *len, struct mrx_diag *diag);

/*
 * Parses `text` (`len` bytes, not NUL-terminated; NULL when `len` is 0) as
 * exactly one YAML document and walks its root, a mapping or nothing,
 * against `keys` (`n` entries, at most CONF_YAML_KEYS_MAX): see
 * conf_yaml_walk(). A NUL byte, bytes that are not UTF-8, a syntax error
 * (with libfyaml's line and column) or a second document is an error;
 * libfyaml's own messages are never printed. Returns 0, the first
 * handler's error, MRX_EMALFORMED (NUL byte, not UTF-8, syntax),
 * MRX_EINVAL (a second document) or MRX_ENOMEM.
 * Nothing of the document outlives the call: handlers copy what they keep.
 */
int conf_yaml_parse(struct conf_yaml *y, const char *text, size_t len,
    const struct conf_yaml_key *keys, size_t n);

/*
 * Walks the mapping `map` (NULL or null: an empty one) whose keys are
 * `keys` (`n` entries, at most CONF_YAML_KEYS_MAX), running each key's
 * handler in the order of the file, then checks that every required key
 * was given. `prefix` is the mapping's key path ("" for the root) and
 * `line` its line, where a missing key is reported. Errors: MRX_ETYPE (not
 * a mapping, a key that is not a plain name), MRX_EINVAL (an unknown key,
 * the message listing the allowed ones; a key over CONF_YAML_KEY_MAX - 1
 * characters), MRX_EDUP (a key twice, naming the first one's line),
 * MRX_EMISSING (a required key left out, with its `required` text), or the
 * first error of a handler.
 */
int conf_yaml_walk(struct conf_yaml *y, struct fy_node *map,
    const char *prefix, int line, const struct conf_yaml_key *keys,
    size_t n);

/*
 * Records "NAME:LINE: KEY: what" (or "NAME:LINE: what" when `key` is "")
 * in y->diag, `key` as its field and the printf-style `fmt` as what, and
 * returns `code`. A diag that already holds an error keeps it.
 */
int conf_yaml_err(struct conf_yaml *y, int code, int line, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The 1-based line where `n` starts, or `dflt` when it has no token. */
int conf_yaml_line(struct fy_node *n, int dflt);

/*
 * prefix.name (name alone when `prefix` is "") into `out` (`cap` bytes).
 * Returns 0, or MRX_ETOOBIG when it does not fit: `out` then holds it cut
 * short.
 */
int conf_yaml_key_join(const char *prefix, const char *name, char *out,
    size_t cap);

/*
 * Copies the text of the scalar it->val into `buf` (`cap` bytes, with its
 * NUL), or fails naming `expect`, what the key takes ("true or false"):
 * MRX_EMISSING (no value), MRX_ETYPE (a mapping or list), MRX_EINVAL (an
 * alias, a tag, a NUL character), MRX_ETOOBIG (longer than `cap` - 1
 * characters). `buf` is unchanged on error.
 */
int conf_yaml_scalar(struct conf_yaml *y, const struct conf_yaml_item *it,
    const char *expect, char *buf, size_t cap);

/*
 * A boolean into *out: true, True, TRUE, false, False or FALSE. Errors as
 * conf_yaml_scalar(), and MRX_EINVAL for any other text; *out is unchanged
 * on error.
 */
int conf_yaml_bool(struct conf_yaml *y, const struct conf_yaml_item *it,
    bool *out);

/*
 * A whole number of decimal digits from `lo` to `hi` into *out. Errors as
 * conf_yaml_scalar(), MRX_EINVAL (not digits only), MRX_ERANGE (outside
 * lo..hi); *out is unchanged on error.
 */
int conf_yaml_uint(struct conf_yaml *y, const struct conf_yaml_item *it,
    uint64_t lo, uint64_t hi, uint64_t *out);

/*
 * The list it->val of at most `max` items, `what` naming them in messages
 * ("record files"): *seq gets the list and *count its length. A key
 * without a value is what `null` says: an empty list (*seq NULL, *count 0)
 * or MRX_EMISSING. Other errors: MRX_ETYPE (not a list), MRX_ETOOBIG (over
 * `max` items, at the first item too many). *seq is owned by the document
 * and lives as long as the parse; both outputs are NULL and 0 on error.
 */
int conf_yaml_list(struct conf_yaml *y, const struct conf_yaml_item *it,
    size_t max, enum conf_yaml_null null, const char *what,
    struct fy_node **seq, size_t *count);

#endif
