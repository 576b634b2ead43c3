/*
 * level.h - clearance schemes and levels, as scheme-qualified strings
 * "SCHEME:LEVEL", and their order within a scheme.
 *
 * A level dominates the levels of lower rank in the same scheme (a US
 * TOP-SECRET clearance satisfies a request for US SECRET). Levels of
 * different schemes are never comparable here: crossing schemes, even
 * within one country (JP-SDS and JP-CESI), takes an agreement row.
 */
#ifndef PROTO_LEVEL_H
#define PROTO_LEVEL_H

#include <stdbool.h>

struct proto_level {
	const char *name;	/* "JP-CESI:CONFIDENTIAL" */
	const char *scheme;	/* "JP-CESI" */
	int rank;		/* order within the scheme, higher is more */
	int default_years;	/* default validity of a clearance */
};

/* The known level named s, or NULL. */
const struct proto_level *proto_level_find(const char *s);

/* True if `held` satisfies a request for `wanted` in the same scheme. */
bool proto_level_dominates(const struct proto_level *held,
    const struct proto_level *wanted);

/* The table, for listings: *n gets the number of entries. */
const struct proto_level *proto_levels(int *n);

#endif
