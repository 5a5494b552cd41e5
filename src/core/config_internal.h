/* Between the two halves of the input's code: config.c (the key table, reading and
 * broadcasting) and config_diagnostics.c (reporting what the checks find). */
#ifndef INVRG_CONFIG_INTERNAL_H
#define INVRG_CONFIG_INTERNAL_H

#include "invrg/config.h"
#include "invrg/namelist.h"

/** The number of keys of all groups (the flat key index runs below it). */
int invrg_config_total_keys(void);

/** Where the input set @p key of @p group (line 0: not given, or no such key). */
invrg_nl_pos invrg_config_key_position(const invrg_config *cfg, const char *group,
                                       const char *key);

/** Keeps the errors of @p res (all refusals of keys' values) until the checks between keys
 * begin collecting (invrg_config_collect_diagnostics()), to be printed in file order with
 * theirs. Rank 0. */
void invrg_config_hold_key_errors(const invrg_config *cfg, const invrg_nl_result *res);

#endif
