/* cs_json.h - writing JSON for scripts (`--json` of every command). */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdio.h>

/* s as a JSON string literal, quotes included; NULL prints null. */
void cs_json_str(FILE *f, const char *s);
/* "key": "value" with a leading comma unless first. */
void cs_json_kv(FILE *f, int first, const char *key, const char *value);

#endif
