/*
 * level.c - the table of known clearance levels (see level.h).
 *
 * Default validities: JP-CESI 10 years and JP-SDS 5 years are set by law
 * (DOMAIN.md); the partners' are the usual reinvestigation periods and are
 * only defaults for the simulator and the CLI, overridable per issuance.
 */
#include "level.h"

#include <string.h>

static const struct proto_level levels[] = {
	{ "JP-CESI:CONFIDENTIAL", "JP-CESI", 1, 10 },
	{ "JP-SDS:SECRET", "JP-SDS", 2, 5 },
	{ "JP-SDS:TOP-SECRET", "JP-SDS", 3, 5 },
	{ "US:CONFIDENTIAL", "US", 1, 10 },
	{ "US:SECRET", "US", 2, 10 },
	{ "US:TOP-SECRET", "US", 3, 5 },
	{ "UK:SC", "UK", 2, 7 },
	{ "UK:DV", "UK", 3, 7 },
	{ "NATO:NC", "NATO", 1, 5 },
	{ "NATO:NS", "NATO", 2, 5 },
	{ "NATO:CTS", "NATO", 3, 5 },
};

const struct proto_level *
proto_level_find(const char *s)
{
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(levels[i].name, s) == 0)
			return &levels[i];
	return NULL;
}

bool
proto_level_dominates(const struct proto_level *held,
    const struct proto_level *wanted)
{
	return held != NULL && wanted != NULL &&
	    strcmp(held->scheme, wanted->scheme) == 0 &&
	    held->rank >= wanted->rank;
}

const struct proto_level *
proto_levels(int *n)
{
	*n = (int)(sizeof(levels) / sizeof(levels[0]));
	return levels;
}
